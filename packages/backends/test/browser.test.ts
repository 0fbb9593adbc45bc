// The built package in real Chromium (headless, SwiftShader WebGL), bundled by esbuild for the browser the
// way an app bundler would: tfjs-core is its ESM build, the gradients come from the same bundle, and the wasm
// binaries are served by the app (no CDN). Skipped when no Chromium is installed.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const here = fileURLToPath(new URL('./browser/', import.meta.url));
const require = createRequire(import.meta.url);
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));

interface Selected {
  backend: string;
  fixes: string[];
  capabilities: Record<string, unknown>;
  attempts: Array<{ backend: string; ok: boolean; reason?: string }>;
}
interface Result {
  error?: string;
  auto: Selected;
  wasm: Selected;
  losses: number[];
  parity: { dx: number; dw: number };
  filterGrad: {
    crossOriginIsolated: boolean;
    sharedMemory: boolean;
    kernels: string[];
    maxPoolGradSimd: boolean;
    dx: number;
    dw: number;
  };
  logs: string[];
}

let dir = '';
let server: Server;
let context: BrowserContext;
let origin = '';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.html': 'text/html',
  '.wasm': 'application/wasm',
};

beforeAll(async () => {
  if (!existsSync(new URL('../dist/index.js', import.meta.url)))
    throw new Error('dist/ is missing: run the build first');
  dir = mkdtempSync(join(tmpdir(), 'gradsign-backends-browser-'));
  await esbuild.build({
    entryPoints: { page: join(here, 'page.js'), worker: join(here, 'worker.js') },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    outdir: dir,
    logLevel: 'error',
  });
  copyFileSync(join(here, 'index.html'), join(dir, 'index.html'));
  for (const f of [
    'tfjs-backend-wasm.wasm',
    'tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm',
  ]) {
    copyFileSync(join(wasmDir, f), join(dir, f));
  }
  server = createServer((req, res) => {
    const file = join(dir, new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/$/, '/index.html'));
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      // Cross-origin isolation, so the page may use SharedArrayBuffer (wasm threads).
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await context?.close();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function checkResult(r: Result): void {
  expect(r.error).toBeUndefined();
  expect(r.auto.backend).toBe('webgl');
  expect(r.auto.attempts).toEqual([expect.objectContaining({ backend: 'webgl', ok: true })]);
  expect(r.auto.fixes).toEqual([]);
  expect(r.auto.capabilities.webglVersion).toBe(2);
  expect(String(r.auto.capabilities.webglRenderer)).toMatch(/\S/);
  expect(r.auto.capabilities.floatPrecision).toBe(32);
  // int32 lives in float textures on WebGL: exact only below 2^24.
  expect(r.auto.capabilities.int32Exact).toBe(false);
  expect(r.auto.capabilities.int32ExactBelow).toBe(2 ** 24);
  expect(r.losses[2]!).toBeLessThan(r.losses[0]!);
  expect(r.wasm.backend).toBe('wasm');
  expect(r.wasm.fixes).toEqual(['conv2d-grad', 'maxpool-grad', 'conv2d-winograd']);
  expect(r.wasm.capabilities.simd).toBe(true);
  expect(r.wasm.capabilities.threads).toBeGreaterThanOrEqual(1);
  expect(r.wasm.capabilities.int32Exact).toBe(true);
  expect(r.parity.dx).toBeLessThan(1e-4);
  expect(r.parity.dw).toBeLessThan(1e-4);
  // The page is cross-origin isolated, so wasm runs its threaded build on a shared memory, and the conv filter
  // gradient runs in the SIMD module's shared-memory build.
  expect(r.filterGrad.crossOriginIsolated).toBe(true);
  expect(r.filterGrad.sharedMemory).toBe(true);
  expect(r.filterGrad.kernels).toContain('Conv2DFilterGradWinograd');
  // So does the max-pool gradient's SIMD kernel.
  expect(r.filterGrad.maxPoolGradSimd).toBe(true);
  expect(r.filterGrad.dx).toBeLessThan(1e-5);
  expect(r.filterGrad.dw).toBeLessThan(1e-5);
}

describe.skipIf(!existsSync(executablePath))('built package in Chromium', () => {
  it('selects webgl, trains, and runs wasm (binaries served by the app) with the fixes, in a page', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${origin}/index.html`);
    const r = (await page.evaluate(
      () => (window as unknown as { __result: Promise<unknown> }).__result,
    )) as Result;
    console.info(
      JSON.stringify({
        page: {
          auto: r.auto?.capabilities,
          wasm: r.wasm?.capabilities,
          parity: r.parity,
          filterGrad: { ...r.filterGrad, kernels: undefined },
        },
      }),
    );
    checkResult(r);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('does the same inside a module Web Worker (OffscreenCanvas)', async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/index.html`);
    const r = (await page.evaluate(
      () =>
        new Promise<unknown>((resolve) => {
          const w = new Worker('./worker.js', { type: 'module' });
          w.onmessage = (e) => resolve(e.data);
          w.onerror = (e) => resolve({ error: e.message });
        }),
    )) as Result;
    console.info(
      JSON.stringify({
        worker: {
          auto: r.auto?.capabilities,
          wasm: r.wasm?.capabilities,
          parity: r.parity,
          filterGrad: { ...r.filterGrad, kernels: undefined },
        },
      }),
    );
    checkResult(r);
    await page.close();
  });
});
