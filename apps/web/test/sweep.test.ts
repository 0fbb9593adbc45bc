// End-to-end in headless Chromium: a small sweep on the page shows the learning-rate curves, the flat ranges and
// the paired differences, as the CLI's sweep computes them from the same results.
import { flatRange, formatFlatRange, pairedDifferences, pairedRow, summarize } from '@gradsign/trainer';
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

async function waitForStatus(page: Page, wanted: string): Promise<void> {
  await page.waitForFunction(
    (w) => [w, 'error'].includes(document.querySelector('[data-testid=status]')?.textContent ?? ''),
    wanted,
    { timeout: 240_000, polling: 100 },
  );
  const error = await page.locator('#error').textContent();
  expect(await page.getByTestId('status').textContent(), `page error: ${error}`).toBe(wanted);
}

async function fill(page: Page, values: Record<string, string | number>): Promise<void> {
  for (const [testId, value] of Object.entries(values)) await page.getByTestId(testId).fill(String(value));
}

/** The body cells of the first table in the element with `testId`. */
const cells = (page: Page, testId: string) =>
  page
    .getByTestId(testId)
    .locator('table')
    .first()
    .locator('tbody tr')
    .evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.textContent ?? '')));

describe('a sweep in the web app', () => {
  it('refuses a bad rate list up front, then shows the curves, flat ranges and paired differences', async () => {
    const page = await context.newPage();
    await page.goto(baseUrl);
    await page.getByTestId('backend').selectOption('wasm');
    await waitForStatus(page, 'ready');
    await page.getByTestId('model').selectOption('mlp');
    await fill(page, { steps: 3, batch: 16, seed: 0, 'eval-every': 0, 'eval-images': 200, seeds: 2 });

    await fill(page, { 'sweep-optimizers': 'gradsign, sgd', 'sweep-lrs': '0.01, abc' });
    await page.getByTestId('sweep').click();
    expect(
      await page.getByTestId('sweep-lrs').evaluate((i) => (i as HTMLInputElement).validationMessage),
    ).toBe("'abc' is not a learning rate above 0.");
    await fill(page, { 'sweep-optimizers': 'gradsign, nosuch', 'sweep-lrs': '0.01' });
    await page.getByTestId('sweep').click();
    expect(
      await page.getByTestId('sweep-optimizers').evaluate((i) => (i as HTMLInputElement).validationMessage),
    ).toMatch(/^'nosuch' is not an optimizer here; choose from .*gradsign/);
    expect(await page.evaluate(() => window.gradsign.runs().length)).toBe(0);

    await fill(page, { 'sweep-optimizers': 'gradsign, sgd', 'sweep-lrs': '0.1, 0.01' });
    await page.getByTestId('sweep').click();
    await waitForStatus(page, 'done');

    const runs = await page.evaluate(() => window.gradsign.runs());
    expect(runs.map((r) => [r.spec.optimizer, r.spec.learningRate, r.spec.seed])).toEqual([
      ['gradsign', 0.01, 0],
      ['gradsign', 0.01, 1],
      ['gradsign', 0.1, 0],
      ['gradsign', 0.1, 1],
      ['sgd', 0.01, 0],
      ['sgd', 0.01, 1],
      ['sgd', 0.1, 0],
      ['sgd', 0.1, 1],
    ]);
    // The page's tables against the trainer's statistics of the runs it reports.
    const summaries = summarize(runs.map((r) => r.result!));
    const rows = await cells(page, 'results');
    expect(rows.map((r) => [r[0], r[1], r[5], r[6]])).toEqual(
      summaries.map((s) => [
        s.optimizer === 'sgd' ? 'SGD' : 'GradSign',
        String(s.best.learningRate),
        formatFlatRange(flatRange(s)),
        '2',
      ]),
    );
    const pairs = pairedDifferences(summaries);
    expect(pairs).toHaveLength(1);
    expect(pairs[0]!.n).toBe(2);
    expect(await cells(page, 'paired')).toEqual(pairs.map(pairedRow));

    const chart = page.getByTestId('lr-curves');
    expect(await chart.getAttribute('data-points')).toBe('4');
    expect(await chart.getAttribute('aria-label')).toMatch(
      /^Test accuracy against learning rate \(log scale\), mean ± sd over seeds\. GradSign: 2 rates, .*; SGD: 2 rates/,
    );
    expect(await chart.locator('canvas').count()).toBe(1);
    expect(await chart.locator('.u-legend').textContent()).toMatch(/GradSign.*SGD/);
  });
});
