// The learning-rate curves, flat ranges and paired differences of a sweep: in the printed report, the --json
// lines, results.json and lr-curves.svg.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, summarize, type TrainResult } from '@gradsign/trainer';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunOutput } from '../src/output.js';
import { lrCurvesSvg } from '../src/sweep-curves.js';
import { type Reporter, reportSweep } from '../src/sweep-report.js';
import { checkBuilt, runCli, TINY_RUN } from './run-cli.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradsign-curves-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function run(
  optimizer: string,
  learningRate: number,
  seed: number,
  accuracy: number | 'diverged',
): RunOutput {
  const diverged = accuracy === 'diverged';
  const result: TrainResult = {
    config: resolveConfig({ optimizer, learningRate, seed, model: 'mlp', steps: 10, batchSize: 16 }),
    backend: 'cpu',
    params: 100,
    stateBytes: 100,
    steps: 10,
    stopped: false,
    testAccuracy: diverged ? Number.NaN : accuracy,
    testLoss: diverged ? Number.NaN : 0.1,
    testCount: 300,
    trainSeconds: 1,
    msPerStep: 1,
    msPerStepMedian: 1,
    evalSeconds: 1,
    losses: [],
    finalTrainLoss: 0.1,
    ...(diverged
      ? { diverged: { step: 4, quantity: 'loss' as const, message: 'diverged at step 4: the loss is NaN' } }
      : {}),
  };
  const record = { step: 1, steps: 10, loss: 1, learningRate, msPerStep: 1, epoch: 0, elapsedSeconds: 0 };
  return { result, records: [record], wallSeconds: 1 };
}

/** GradSign at 3 rates and Adam at 2, three seeds each; Adam's 0.1 diverges on seed 2. */
const RUNS: RunOutput[] = [
  ...[0.97, 0.972, 0.968].map((a, s) => run('gradsign', 0.001, s, a)),
  ...[0.975, 0.979, 0.977].map((a, s) => run('gradsign', 0.01, s, a)),
  ...[0.95, 0.94, 0.96].map((a, s) => run('gradsign', 0.1, s, a)),
  ...[0.98, 0.982, 0.981].map((a, s) => run('adam', 0.01, s, a)),
  run('adam', 0.1, 0, 0.9),
  run('adam', 0.1, 1, 0.91),
  run('adam', 0.1, 2, 'diverged'),
];

function recorder() {
  const printed: string[] = [];
  const emitted: Record<string, unknown>[] = [];
  const reporter: Reporter = {
    io: { stdout: process.stdout, stderr: { write: () => true } as unknown as NodeJS.WriteStream },
    signal: new AbortController().signal,
    info: () => {},
    emit: (line) => emitted.push(line as Record<string, unknown>),
    print: (text) => printed.push(text),
    listen: () => {},
    unlisten: () => {},
  };
  return { reporter, printed, emitted };
}

const report = { steps: 10, batch: 16, model: 'mlp' };

describe('a sweep report with curves', () => {
  test('prints the flat range per optimizer and the paired difference with its t interval', async () => {
    const { reporter, printed } = recorder();
    await reportSweep(reporter, report, 'sweep', RUNS, RUNS.length, 1);
    const text = printed.join('\n');
    // GradSign: best 0.01 (97.70 %), 0.001 is 0.70 pp below: flat range the best rate alone.
    expect(text).toMatch(/\| GradSign +\| 0\.01 +\| 97\.70 ± 0\.20 % +\| 1e-2 \(1×\) +\| 3 +\|/);
    // Per seed: GradSign − Adam at 0.01 = −0.5, −0.3, −0.4 pp: mean −0.4, sd 0.1, t(0.975, 2) 4.3027 → ± 0.248.
    expect(text).toMatch(
      /\| GradSign − Adam +\| 0\.01 vs 0\.01 +\| -0\.40 pp +\| \[-0\.65, -0\.15\] pp +\| 3 +\| yes +\|/,
    );
    expect(text).toMatch(/\| Adam +\| 0\.1 .*\| 2 +\| 1 +\|$/m);
  });

  test('--json adds flatRange and n per rate to each summary, and a paired line per pair', async () => {
    const { reporter, emitted } = recorder();
    await reportSweep(reporter, { ...report, json: true }, 'sweep', RUNS, RUNS.length, 1);
    const adam = emitted.find((l) => l.type === 'summary' && l.optimizer === 'adam') as {
      flatRange: unknown;
      grid: { lr: number; n: number; divergedRuns: number }[];
    };
    expect(adam.flatRange).toEqual({
      low: 0.01,
      high: 0.01,
      factor: 1,
      learningRates: [0.01],
      tolerancePp: 0.5,
    });
    expect(adam.grid.map((g) => [g.lr, g.n, g.divergedRuns])).toEqual([
      [0.01, 3, 0],
      [0.1, 2, 1],
    ]);
    const paired = emitted.filter((l) => l.type === 'paired');
    expect(paired).toHaveLength(1);
    const p = paired[0] as Record<string, number>;
    expect(p).toMatchObject({ a: 'gradsign', b: 'adam', n: 3, method: 'student-t', resolved: true });
    expect(p.mean).toBeCloseTo(-0.004, 12);
    expect(p.high! - p.mean!).toBeCloseTo((4.302653 * 0.001) / Math.sqrt(3), 6);
  });

  test('writes lr-curves.svg with labelled axes, a legend and the diverged rate marked', async () => {
    const dir = tempDir();
    const { reporter } = recorder();
    await reportSweep(reporter, { ...report, out: dir }, 'sweep', RUNS, RUNS.length, 1);
    const svg = readFileSync(join(dir, 'lr-curves.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    for (const label of [
      'learning rate (log scale)',
      'test accuracy (%)',
      'GradSign',
      'Adam',
      '1/3 diverged',
    ])
      expect(svg).toContain(label);
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    expect(results.paired.map((p: { a: string; b: string }) => `${p.a}-${p.b}`)).toEqual(['gradsign-adam']);
    expect(results.pairedTable).toMatch(/GradSign − Adam/);
    expect(results.flatTable).toMatch(/Flat range/);
    expect(results.summary[0].flatRange.learningRates).toEqual([0.01]);
  });

  test('no curve for one rate per optimizer', async () => {
    const dir = tempDir();
    const { reporter } = recorder();
    await reportSweep(reporter, { ...report, out: dir }, 'compare', RUNS.slice(3, 6), 3, 1);
    expect(existsSync(join(dir, 'lr-curves.svg'))).toBe(false);
    expect(existsSync(join(dir, 'results.json'))).toBe(true);
  });

  test('one error bar and one point per rate with a mean', async () => {
    const svg = await lrCurvesSvg(summarize(RUNS.slice(0, 9).map((r) => r.result)), 'test');
    expect(svg.match(/aria-roledescription="errorbar"/g) ?? []).toHaveLength(3);
    expect(svg.match(/aria-roledescription="point"/g) ?? []).toHaveLength(3);
    expect(svg).not.toMatch(/\d+\/\d+ diverged/);
  });
});

describe('gradsign sweep --out', () => {
  beforeAll(checkBuilt);

  test('writes lr-curves.svg and the paired differences from a real sweep', async () => {
    const dir = join(tempDir(), 'out');
    const r = await runCli([
      'sweep',
      ...TINY_RUN,
      '--optimizers',
      'gradsign,sgd',
      '--lrs',
      '0.001,0.01',
      '--seeds',
      '2',
      '--out',
      dir,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const runs = lines.filter((l) => l.type === 'run');
    const best = Object.fromEntries(
      lines.filter((l) => l.type === 'summary').map((l) => [l.optimizer, l.bestLr]),
    );
    const accuracy = (opt: string, seed: number) =>
      runs.find((l) => l.optimizer === opt && l.lr === best[opt] && l.seed === seed).testAccuracy;
    const [paired] = lines.filter((l) => l.type === 'paired');
    const differences = [0, 1].map((s) => accuracy('gradsign', s) - accuracy('sgd', s));
    expect(paired.differences).toEqual(differences);
    expect(paired.mean).toBeCloseTo((differences[0]! + differences[1]!) / 2, 12);
    expect(readFileSync(join(dir, 'lr-curves.svg'), 'utf8')).toContain('test accuracy (%)');
  });
});
