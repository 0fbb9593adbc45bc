// End-to-end: the built app under `vite preview`, driven in headless Chromium (WebGL through SwiftShader).
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { selectBackend } from '@gradsign/backends';
import { loadMnist } from '@gradsign/datasets/node';
import { Trainer } from '@gradsign/trainer';
import { ParallelTrainer } from '@gradsign/trainer/node';
import type { BrowserContext, Page } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GoldenReport } from '../src/checks/golden';
import type { GradientComparison } from '../src/checks/parity';
import type { SaveLoadReport } from '../src/checks/save-load';
import type { RunSnapshot, RunSpec } from '../src/protocol';
import { artifactsDir, launchChromium } from './support/browser';
import { buildApp, startPreview } from './support/server';

declare global {
  interface Window {
    gradsign: { runs(): RunSnapshot[] };
    gradsignChecks: {
      parity(): Promise<GradientComparison[]>;
      golden(): Promise<{ flushesSubnormals: boolean; reports: GoldenReport[] }>;
      saveLoad(): Promise<SaveLoadReport[]>;
      tolerance: number;
    };
  }
}

let server: PreviewServer;
let baseUrl: string;
let context: BrowserContext;
let closeBrowser: () => Promise<void>;
const requests: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  await buildApp();
  ({ url: baseUrl, server } = await startPreview());
  ({ context, close: closeBrowser } = await launchChromium());
  context.on('request', (r) => requests.push(r.url()));
  context.on('weberror', (e) => pageErrors.push(e.error().message));
});

afterAll(async () => {
  await closeBrowser?.();
  await server?.close();
});

async function openApp(search = ''): Promise<Page> {
  const page = await context.newPage();
  await page.goto(new URL(search, baseUrl).href);
  return page;
}

const statusOf = (page: Page) => page.getByTestId('status').textContent();

/** Waits until the status reads one of `states` (or 'error'), then expects `states[0]`. */
async function waitForStatus(page: Page, ...states: string[]): Promise<void> {
  await page.waitForFunction(
    (wanted) =>
      [...wanted, 'error'].includes(document.querySelector('[data-testid=status]')?.textContent ?? ''),
    states,
    { timeout: 240_000, polling: 100 },
  );
  const error = await page.locator('#error').textContent();
  expect(await statusOf(page), `page error: ${error}`).toBe(states[0]);
}

async function chooseBackend(page: Page, backend: string): Promise<void> {
  await page.getByTestId('backend').selectOption(backend);
  await waitForStatus(page, 'ready');
  expect(await page.getByTestId('backend-info').textContent()).toMatch(new RegExp(`^Using ${backend}\\b`));
}

async function fill(page: Page, values: Record<string, string | number>): Promise<void> {
  for (const [testId, value] of Object.entries(values)) await page.getByTestId(testId).fill(String(value));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const runs = (page: Page) => page.evaluate(() => window.gradsign.runs());
const points = async (page: Page) => Number(await page.getByTestId('loss-chart').getAttribute('data-points'));

/** The settings of the wasm run, shared with the Node run that must reproduce it. */
const WASM_RUN: RunSpec = {
  model: 'blog-cnn',
  optimizer: 'gradsign',
  learningRate: 0.003,
  steps: 50,
  batchSize: 32,
  seed: 7,
};
let wasmPage: Page;
let wasmRun: RunSnapshot;

describe('the web app in Chromium', () => {
  it('loads cross-origin isolated, with MNIST and the wasm binaries from its own origin', async () => {
    const response = await fetch(baseUrl);
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(response.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    // The build serves gzipped IDX (vite preview adds Content-Encoding: gzip, so fetch may hand back the IDX).
    const served = new Uint8Array(
      await (await fetch(new URL('mnist/t10k-labels-idx1-ubyte.gz', baseUrl))).arrayBuffer(),
    );
    const labels = served[0] === 0x1f && served[1] === 0x8b ? gunzipSync(served) : served;
    expect(new DataView(labels.buffer, labels.byteOffset).getUint32(0)).toBe(2049);
    expect(labels.length).toBe(8 + 10000);

    // The portable kernels, as in Node 20: the FMA build (Chromium has relaxed SIMD) rounds differently, and a
    // sign-based optimizer turns those differences into a different trajectory within 50 steps.
    wasmPage = await openApp('?kernels=portable');
    await waitForStatus(wasmPage, 'ready');
    expect(await wasmPage.evaluate(() => crossOriginIsolated)).toBe(true);
    // The optimizer picker lists every registered optimizer, contributed packages included.
    const options = await wasmPage
      .getByTestId('optimizer')
      .locator('option')
      .evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value));
    expect(options).toEqual(expect.arrayContaining(['gradsign', 'adam', 'adamw', 'sgd', 'lion', 'adam8bit']));
    expect(await wasmPage.getByTestId('backend-info').textContent()).toMatch(/\(chosen by auto\)/);

    await chooseBackend(wasmPage, 'wasm');
    expect(await wasmPage.getByTestId('backend-info').textContent()).toMatch(/SIMD/);
    const foreign = requests.filter((u) => !u.startsWith(baseUrl) && !/^(blob|data):/.test(u));
    expect(foreign).toEqual([]);
    expect(requests.some((u) => /\/assets\/tfjs-backend-wasm[-\w]*\.wasm$/.test(u))).toBe(true);
  });

  it('trains GradSign on wasm, stopping and resuming midway: loss falls, the chart follows, accuracy beats chance', async () => {
    const page = wasmPage;
    await page.getByTestId('model').selectOption(WASM_RUN.model);
    await page.getByTestId('optimizer').selectOption(WASM_RUN.optimizer);
    await fill(page, {
      lr: WASM_RUN.learningRate,
      steps: WASM_RUN.steps,
      batch: WASM_RUN.batchSize,
      seed: WASM_RUN.seed,
      'eval-every': 25,
      'eval-images': 1000,
    });
    await page.getByTestId('start').click();

    // The chart grows while training runs, and Stop takes effect between steps.
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid=loss-chart]')?.getAttribute('data-points')) >= 10,
    );
    await page.getByTestId('stop').click();
    await waitForStatus(page, 'stopped');
    const stoppedAt = (await runs(page))[0]!.losses.length;
    expect(stoppedAt).toBeGreaterThanOrEqual(10);
    expect(stoppedAt).toBeLessThan(WASM_RUN.steps);
    await page.waitForTimeout(500);
    expect((await runs(page))[0]!.losses).toHaveLength(stoppedAt);
    await page.getByTestId('resume').click();
    await waitForStatus(page, 'done');

    const [run] = await runs(page);
    wasmRun = run!;
    expect(run!.backend).toBe('wasm');
    expect(run!.losses).toHaveLength(WASM_RUN.steps);
    expect(await points(page)).toBe(WASM_RUN.steps);
    const first = mean(run!.losses.slice(0, 10));
    const last = mean(run!.losses.slice(-10));
    expect(first).toBeGreaterThan(2); // about ln 10 for an untrained 10-class model
    expect(last).toBeLessThan(0.7 * first);
    expect(run!.evals.map((e) => e.step)).toEqual([25, 50]);
    expect(run!.result!.testCount).toBe(1000);
    expect(run!.result!.testAccuracy).toBeGreaterThan(0.3); // chance is 0.1
    expect(await page.getByTestId('results').textContent()).toMatch(/GradSign0\.003\d+\.\d\d %7/);

    // GradSign's state: one int8 counter per parameter, 4 to an int32 word on wasm.
    const { stateBytes, params } = run!.memory!;
    expect(params).toBe(66954);
    expect(stateBytes / params).toBeGreaterThanOrEqual(1);
    expect(stateBytes / params).toBeLessThan(1.001);
    expect(await page.getByTestId('state-bytes').textContent()).toMatch(/^1\.000 B\/param/);
  });

  it('reports the same loss curve as a Node run with the same seed on wasm', async () => {
    expect(wasmRun, 'needs the wasm run').toBeDefined();
    const selection = await selectBackend('wasm', { onLog: () => {}, kernels: 'portable' });
    expect(selection.kernels).toBe('portable');
    expect(selection.backend).toBe('wasm');
    const mnist = await loadMnist();
    const trainer = Trainer.create({ config: WASM_RUN, data: { train: mnist.train } });
    const losses: number[] = [];
    try {
      for await (const record of trainer.run()) losses.push(record.loss);
    } finally {
      trainer.dispose();
    }
    expect(losses).toHaveLength(WASM_RUN.steps);
    // Same data order, initialisation, dropout masks and counters: only float rounding inside the two wasm
    // builds (threaded in the page, single-threaded in Node) may differ.
    const worst = Math.max(...losses.map((l, i) => Math.abs(l - wasmRun.losses[i]!) / Math.abs(l)));
    console.info(
      `browser vs Node loss curve, ${losses.length} steps: max relative difference ${worst.toExponential(2)}`,
    );
    expect(worst).toBeLessThan(1e-4);
  });

  it('classifies a drawn digit and an MNIST test digit with the trained model', async () => {
    const page = wasmPage;
    const canvas = page.getByTestId('digit-canvas');
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    // A "7": a bar across the top, then a stroke down to the lower left.
    const at = (x: number, y: number) => [box.x + x * box.width, box.y + y * box.height] as const;
    await page.mouse.move(...at(0.25, 0.22));
    await page.mouse.down();
    await page.mouse.move(...at(0.75, 0.22), { steps: 8 });
    await page.mouse.move(...at(0.42, 0.82), { steps: 12 });
    await page.mouse.up();
    await page.waitForFunction(() =>
      /^\d \(/.test(document.querySelector('[data-testid=prediction]')?.textContent ?? ''),
    );
    const probabilities = await page.locator('#probabilities li .p').allTextContents();
    expect(probabilities).toHaveLength(10);
    const total = probabilities.reduce((a, p) => a + Number.parseFloat(p), 0);
    expect(total).toBeGreaterThan(99);
    expect(total).toBeLessThan(101);

    await page.getByTestId('sample-digit').click();
    await page.waitForFunction(() =>
      /labelled \d/.test(document.getElementById('sample-label')?.textContent ?? ''),
    );
    await page.waitForFunction(() =>
      /^\d \(/.test(document.querySelector('[data-testid=prediction]')?.textContent ?? ''),
    );
  });

  it("compares GradSign, Adam and SGD at the reference learning rates over two seeds, in the write-up's table", async () => {
    const page = wasmPage;
    await page.getByTestId('model').selectOption('mlp');
    await fill(page, { steps: 20, seed: 7, 'eval-every': 0, 'eval-images': 500, seeds: 2 });
    await page.getByTestId('compare').click();
    await waitForStatus(page, 'done');

    const compared = (await runs(page)).slice(1);
    expect(compared.map((r) => `${r.spec.optimizer} ${r.spec.learningRate} ${r.spec.seed}`)).toEqual([
      'gradsign 0.003 7',
      'adam 0.003 7',
      'sgd 0.03 7',
      'gradsign 0.003 8',
      'adam 0.003 8',
      'sgd 0.03 8',
    ]);
    expect(await points(page)).toBe(WASM_RUN.steps + 6 * 20);
    const table = page.getByTestId('results').locator('table').first();
    expect(await table.locator('caption').textContent()).toBe(
      'mlp, 20 steps × 32, wasm, accuracy on 500 test images',
    );
    const rows = await table
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
    expect(rows.map((r) => [r[0], r[1], r[3], r[4]])).toEqual([
      ['GradSign', '0.003', '7, 8', '1.00'],
      ['Adam', '0.003', '7, 8', '8.00'],
      ['SGD', '0.03', '7, 8', '0.00'],
    ]);
    for (const r of rows) expect(r[2]).toMatch(/^\d+\.\d\d ± \d+\.\d\d %$/);
    await page.screenshot({ path: join(artifactsDir, 'desktop-wasm.png'), fullPage: true });
  });

  it('trains data-parallel on 2 Web Workers, with the loss curve of a Node run on 2 worker threads', async () => {
    const page = await openApp('?kernels=portable');
    await waitForStatus(page, 'ready');
    await chooseBackend(page, 'wasm');
    const spec = { ...WASM_RUN, steps: 20 };
    await page.getByTestId('model').selectOption(spec.model);
    await page.getByTestId('optimizer').selectOption(spec.optimizer);
    await fill(page, {
      lr: spec.learningRate,
      steps: spec.steps,
      batch: spec.batchSize,
      seed: spec.seed,
      threads: 2,
      'eval-every': 0,
      'eval-images': 500,
    });
    await page.getByTestId('start').click();
    await waitForStatus(page, 'done');
    const [run] = await runs(page);
    expect(run!.threads).toBe(2);
    expect(run!.losses).toHaveLength(spec.steps);
    expect(run!.result!.testCount).toBe(500);
    expect(await page.getByTestId('run').textContent()).toMatch(/on wasm, 2 threads$/);

    // The same run in Node on 2 worker threads, with the same kernels: the same all-reduce, in the same order.
    await selectBackend('wasm', { onLog: () => {}, kernels: 'portable' });
    const mnist = await loadMnist();
    const parallel = await ParallelTrainer.create({
      config: spec,
      data: { train: mnist.train },
      workers: 2,
      backend: 'wasm',
      setup: { module: new URL('./support/portable-replica.mjs', import.meta.url).href },
    });
    const losses: number[] = [];
    try {
      for await (const record of parallel.run()) losses.push(record.loss);
    } finally {
      parallel.dispose();
    }
    const worst = Math.max(...losses.map((l, i) => Math.abs(l - run!.losses[i]!) / Math.abs(l)));
    console.info(
      `browser vs Node loss curve on 2 threads: max relative difference ${worst.toExponential(2)}`,
    );
    expect(worst).toBeLessThan(1e-4);

    // The trained replicas' weights serve predictions after the run.
    await page.getByTestId('sample-digit').click();
    await page.waitForFunction(() =>
      /^\d \(/.test(document.querySelector('[data-testid=prediction]')?.textContent ?? ''),
    );
    await page.close();
  });

  it('trains GradSign on WebGL, started from the keyboard: loss falls, accuracy beats chance, 4/3 bytes per parameter', async () => {
    const page = await openApp();
    await waitForStatus(page, 'ready');
    await chooseBackend(page, 'webgl');
    expect(await page.getByTestId('backend-info').textContent()).toMatch(
      /WebGL 2.*float32.*int32 exact below 2\^24/,
    );
    // SwiftShader emulates the GPU on the CPU: the small MLP keeps this run short.
    await page.getByTestId('model').selectOption('mlp');
    await fill(page, { lr: 0.003, steps: 50, batch: 32, seed: 3, 'eval-every': 0, 'eval-images': 1000 });
    await page.getByTestId('seed').press('Enter'); // submits the form, as the Start button does
    await page.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent !== 'ready');
    await waitForStatus(page, 'done');

    const [run] = await runs(page);
    expect(run!.backend).toBe('webgl');
    expect(run!.losses).toHaveLength(50);
    expect(await points(page)).toBe(50);
    expect(mean(run!.losses.slice(-10))).toBeLessThan(0.7 * mean(run!.losses.slice(0, 10)));
    expect(run!.result!.testAccuracy).toBeGreaterThan(0.3);

    // On WebGL int32 is exact only below 2^24, so three counters share a word: 4/3 bytes per parameter.
    const { stateBytes, params, counterLanes } = run!.memory!;
    expect(counterLanes).toBe(3);
    expect(stateBytes / params).toBeGreaterThanOrEqual(4 / 3);
    expect(stateBytes / params).toBeLessThan(4 / 3 + 0.001);
    expect(await page.getByTestId('state-bytes').textContent()).toMatch(/^1\.333 B\/param/);
    expect(await page.getByTestId('state-note').textContent()).toMatch(/exact only below 2\^24.*3 counters/);
    await page.screenshot({ path: join(artifactsDir, 'desktop-webgl.png'), fullPage: true });

    // Data-parallel training is for wasm and cpu: on WebGL, Threads 2 is refused before any work starts.
    await fill(page, { threads: 2 });
    await page.getByTestId('start').click();
    await waitForStatus(page, 'error');
    expect(await page.locator('#error').textContent()).toMatch(/works on wasm and cpu, not webgl/);
    expect(await runs(page)).toHaveLength(1);
    await page.close();
  });

  it('computes conv2d, maxPool, BatchNorm and leakyReLU gradients on WebGL as cpu does, to 1e-4', async () => {
    const page = await context.newPage();
    await page.goto(new URL('checks.html', baseUrl).href);
    const results = await page.evaluate(() => window.gradsignChecks.parity());
    const tolerance = await page.evaluate(() => window.gradsignChecks.tolerance);
    expect(tolerance).toBe(1e-4);
    for (const op of ['conv2d', 'maxPool', 'BatchNorm', 'leakyReLU', 'block']) {
      expect(results.some((r) => r.case.includes(op))).toBe(true);
    }
    const failing = results.filter((r) => !(r.relative <= tolerance) || !(r.maxAbsRef > 0));
    expect(failing).toEqual([]);
    await page.close();
  });

  it('replays the golden vectors on WebGL: exact counters, floats in tolerance, flushed subnormals named', async () => {
    const page = await context.newPage();
    await page.goto(new URL('checks.html', baseUrl).href);
    const { flushesSubnormals, reports } = await page.evaluate(() => window.gradsignChecks.golden());
    expect(reports.map((r) => r.run)).toEqual(
      expect.arrayContaining(['gradsign', 'adam', 'adam_l2', 'adamw', 'sgd', 'sgd_momentum', 'sgd_nesterov']),
    );
    for (const r of reports) expect(r.failures, r.run).toEqual([]);

    // Elements whose gradient was a float32 subnormal are the only ones allowed to differ, and only on a backend
    // shown to flush subnormals. There, GradSign reads +1e-40 as 0 (a sign of −1): its counter and parameter differ
    // at exactly those elements, and nowhere else.
    const flushed = reports.flatMap((r) => r.subnormalGradient.map((m) => ({ run: r.run, ...m })));
    if (!flushesSubnormals) expect(flushed).toEqual([]);
    else {
      const gradsign = reports.find((r) => r.run === 'gradsign')!;
      expect(flushed.every((m) => m.run === 'gradsign' && m.grad > 0)).toBe(true);
      const counters = gradsign.subnormalGradient.filter((m) => m.what === 'counts');
      expect(counters.length).toBeGreaterThan(0);
      expect(counters.every((m) => m.actual === m.expected - 16)).toBe(true); // sign −1 instead of +1: 8·2 apart
      expect(gradsign.subnormalGradient.filter((m) => m.what === 'param')).toHaveLength(counters.length);
      console.info(
        `WebGL flushes float32 subnormals: ${flushed.length} GradSign elements differ from the golden vectors, all ` +
          `at positive subnormal gradients (counters 16 apart, and their parameters): ${counters
            .map((m) => `step ${m.step} [${m.index}] g=${m.grad.toPrecision(2)}`)
            .join(', ')}`,
      );
    }
    await page.close();
  });

  it('saves every optimizer with its state to IndexedDB on wasm, loads it and trains on bit-identically', async () => {
    const page = await context.newPage();
    await page.goto(new URL('checks.html', baseUrl).href);
    const reports = await page.evaluate(() => window.gradsignChecks.saveLoad());
    expect(reports.map((r) => r.optimizer)).toEqual([
      'GradSign',
      'Adam',
      'AdamW',
      'SGD momentum',
      'SGD Nesterov',
      'Lion',
      'Adam8bit',
    ]);
    for (const r of reports) {
      expect(r.backend).toBe('wasm');
      expect(r.className, r.optimizer).toMatch(/^gradsign\./);
      expect(r.elements, r.optimizer).toBeGreaterThan(0);
      expect(r.renamed, r.optimizer).toBe(true);
      expect(r.differing, r.optimizer).toBe(0);
    }
    await page.close();
  });

  it('refuses an unknown kernel build in the address, naming it, before starting a worker', async () => {
    const page = await openApp('?kernels=fast');
    await waitForStatus(page, 'error');
    expect(await page.locator('#error').textContent()).toContain('kernels=fast');
    await page.close();
  });

  it('fits a phone-sized viewport and labels every control', async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(baseUrl);
    await waitForStatus(page, 'ready');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    for (const id of ['backend', 'optimizer', 'steps', 'start', 'digit-canvas', 'loss-chart']) {
      const box = (await page.getByTestId(id).boundingBox())!;
      expect(box.x, id).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, id).toBeLessThanOrEqual(390);
    }
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, button, canvas')]
        .filter((el) => {
          const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute('aria-label');
          return !labelled && !(el.tagName === 'BUTTON' && el.textContent?.trim()) && !el.closest('.uplot');
        })
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    expect(unlabelled).toEqual([]);
    await page.screenshot({ path: join(artifactsDir, 'phone.png'), fullPage: true });
    await page.close();
    expect(pageErrors).toEqual([]);
  });
});
