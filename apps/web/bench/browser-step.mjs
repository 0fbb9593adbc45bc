// The reference CNN's training step (blog-cnn, GradSign, batch 32) in headless Chromium on wasm, through the web
// app's own training worker, served from the built app (dist/, `pnpm --filter @gradsign/web build`) with vite
// preview (cross-origin isolated, as deployed). Prints one JSON line: Chromium's version, the wasm threads and
// kernels of the worker's backend, and the median ms/step after warm-up (the worker's own per-step timing). With
// --threads N the run trains data-parallel on N replica Web Workers (the form's Threads field).
//
//   node bench/browser-step.mjs [--quick] [--threads N]
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { preview } from 'vite';

const quick = process.argv.includes('--quick');
const [warmup, steps] = quick ? [3, 5] : [60, 50];
const replicas = process.argv.includes('--threads')
  ? Number(process.argv[process.argv.indexOf('--threads') + 1])
  : 1;
const appRoot = fileURLToPath(new URL('..', import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = (why) => {
  console.log(JSON.stringify({ skipped: why }));
  process.exit(0);
};
if (!existsSync(join(appRoot, 'dist/index.html')))
  skip('the web app is not built (pnpm --filter @gradsign/web build)');
if (!existsSync(chromiumPath)) skip(`Chromium not found at ${chromiumPath} (set CHROMIUM_PATH)`);
const worker = readdirSync(join(appRoot, 'dist/assets')).find((f) => /^worker-.*\.js$/.test(f));
if (worker == null) skip('dist/assets has no worker-*.js');

const server = await preview({
  root: appRoot,
  logLevel: 'warn',
  preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
});
const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'],
});
try {
  const { port } = server.httpServer.address();
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  const result = await page.evaluate(
    ({ script, warmup, steps, replicas }) =>
      new Promise((resolve, reject) => {
        const w = new Worker(new URL(`assets/${script}`, document.baseURI), { type: 'module' });
        const times = [];
        let info;
        w.onerror = (e) => reject(new Error(e.message));
        w.onmessage = ({ data: m }) => {
          if (m.type === 'ready') {
            info = m.backend;
            const run = {
              model: 'blog-cnn',
              optimizer: 'gradsign',
              learningRate: 0.001,
              steps: warmup + steps,
            };
            w.postMessage({
              type: 'start',
              runs: [{ ...run, batchSize: 32, seed: 0 }],
              eval: { every: 0, images: 100 },
              onNonFinite: 'stop',
              threads: replicas,
            });
          } else if (m.type === 'step') {
            if (m.step > warmup) times.push(m.msPerStep);
            if (times.length === steps) {
              w.terminate();
              const sorted = times.sort((a, b) => a - b);
              resolve({ info, steps, ms: sorted[Math.floor(steps / 2)] });
            }
          } else if (m.type === 'error' || m.type === 'diverged') reject(new Error(JSON.stringify(m)));
        };
        w.postMessage({ type: 'init', backend: 'wasm', mnistUrl: new URL('mnist', document.baseURI).href });
      }),
    { script: worker, warmup, steps, replicas },
  );
  console.log(
    JSON.stringify({
      browser: `Chromium ${browser.version()}`,
      backend: result.info.backend,
      threads: result.info.threads,
      replicas,
      kernels: result.info.kernels ?? 'unknown',
      crossOriginIsolated: result.info.crossOriginIsolated,
      steps: result.steps,
      ms: result.ms,
    }),
  );
} finally {
  await browser.close();
  await new Promise((r) => server.httpServer.close(r));
}
