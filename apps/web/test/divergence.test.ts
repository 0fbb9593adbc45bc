// End-to-end in headless Chromium: a diverging run ends as "diverged at step N", never as a result.
import type { BrowserContext, Page } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSnapshot } from '../src/protocol';
import { launchChromium } from './support/browser';
import { buildApp, startPreview } from './support/server';

declare global {
  interface Window {
    gradsign: { runs(): RunSnapshot[] };
  }
}

let server: PreviewServer;
let baseUrl: string;
let context: BrowserContext;
let closeBrowser: () => Promise<void>;

beforeAll(async () => {
  await buildApp();
  ({ url: baseUrl, server } = await startPreview());
  ({ context, close: closeBrowser } = await launchChromium());
});

afterAll(async () => {
  await closeBrowser?.();
  await server?.close();
});

const statusOf = (page: Page) => page.getByTestId('status').textContent();

/** Waits until the status matches `wanted` or reads 'done' or 'error', then returns it. */
async function settledStatus(page: Page, wanted: RegExp): Promise<string> {
  await page.waitForFunction(
    (source) => {
      const text = document.querySelector('[data-testid=status]')?.textContent ?? '';
      return new RegExp(source).test(text) || text === 'done' || text === 'error';
    },
    wanted.source,
    { timeout: 240_000, polling: 100 },
  );
  return (await statusOf(page)) ?? '';
}

async function startRun(page: Page, lr: string, onNonFinite: 'stop' | 'skip', steps = 5): Promise<void> {
  await page.getByTestId('model').selectOption('mlp');
  await page.getByTestId('optimizer').selectOption('gradsign');
  await page.getByTestId('on-nonfinite').selectOption(onNonFinite);
  for (const [testId, value] of Object.entries({
    lr,
    steps,
    batch: 16,
    seed: 0,
    'eval-every': 0,
    'eval-images': 200,
  })) {
    await page.getByTestId(testId).fill(String(value));
  }
  await page.getByTestId('start').click();
}

describe('divergence in the web app', () => {
  it('lr = 1e308 ends "diverged at step 2", and the results table marks it instead of an accuracy', async () => {
    const page = await context.newPage();
    await page.goto(baseUrl);
    await page.getByTestId('backend').selectOption('wasm');
    await page.waitForFunction(
      () => document.querySelector('[data-testid=status]')?.textContent === 'ready',
      null,
      {
        timeout: 240_000,
      },
    );

    await startRun(page, '1e308', 'stop');
    expect(await settledStatus(page, /^diverged at step \d+$/)).toBe('diverged at step 2');
    expect(await page.locator('#status-detail').textContent()).toMatch(
      /GradSign 1e\+308 s0: diverged at step 2: the loss is NaN/,
    );
    const [run] = await page.evaluate(() => window.gradsign.runs());
    expect(run!.diverged).toEqual({ step: 2, message: 'diverged at step 2: the loss is NaN' });
    expect(run!.result!.diverged).toMatchObject({ step: 2, quantity: 'loss' });
    const row = page.getByTestId('results').locator('tbody tr').first();
    const cells = await row.locator('th, td').allTextContents();
    expect(cells.slice(0, 3)).toEqual(['GradSign', '1e+308', 'diverged at step 2']);
    expect(cells.join(' ')).not.toMatch(/%|NaN/);

    // Under 'skip', the NaN steps are skipped, ten in a row, then the run stops as diverged all the same.
    await startRun(page, '1e308', 'skip', 40);
    expect(await settledStatus(page, /^diverged at step \d+$/)).toBe('diverged at step 11');
    const last = (await page.evaluate(() => window.gradsign.runs())).at(-1)!;
    expect(last.result!.skippedSteps).toBe(10);
  });
});
