import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  flatRange,
  formatFlatRange,
  formatFlatTable,
  formatGridTable,
  formatPairedTable,
  formatRate,
  type LrSummary,
  pairedDifference,
  pairedDifferences,
  resolveConfig,
  summarize,
  type TrainResult,
  tInterval,
} from '../src/index.js';

function fake(optimizer: string, learningRate: number, seed: number, accuracy: number): TrainResult {
  return {
    config: resolveConfig({ optimizer, learningRate, seed }),
    backend: 'cpu',
    params: 100,
    stateBytes: 100,
    steps: 10,
    stopped: false,
    testAccuracy: accuracy,
    testLoss: 0.1,
    testCount: 100,
    trainSeconds: 1,
    msPerStep: 1,
    msPerStepMedian: 1,
    evalSeconds: 1,
    losses: [],
    finalTrainLoss: 0.1,
  };
}

function diverged(optimizer: string, learningRate: number, seed: number): TrainResult {
  return {
    ...fake(optimizer, learningRate, seed, Number.NaN),
    testLoss: Number.NaN,
    diverged: { step: 3, quantity: 'loss', message: 'diverged at step 3: the loss is NaN' },
  };
}

/** One optimizer's runs: per rate, the accuracy of seeds 0, 1, … */
function curve(optimizer: string, grid: Record<number, number[]>): TrainResult[] {
  return Object.entries(grid).flatMap(([lr, accs]) =>
    accs.map((a, seed) => fake(optimizer, Number(lr), seed, a)),
  );
}

/**
 * The Student-t CDF by Simpson's rule on its density, independent of the library: the density's constant
 * Γ((ν+1)/2) / Γ(ν/2) comes from c(1) = 1/√π, c(2) = √π/2, c(ν+2) = c(ν)·(ν+1)/ν.
 */
function tCdf(q: number, nu: number): number {
  let c = nu % 2 === 1 ? 1 / Math.sqrt(Math.PI) : Math.sqrt(Math.PI) / 2;
  for (let k = nu % 2 === 1 ? 1 : 2; k < nu; k += 2) c *= (k + 1) / k;
  const f = (t: number) => (c / Math.sqrt(nu * Math.PI)) * (1 + (t * t) / nu) ** (-(nu + 1) / 2);
  const m = 4000;
  const h = q / m;
  let s = f(0) + f(q);
  for (let i = 1; i < m; i++) s += (i % 2 === 1 ? 4 : 2) * f(i * h);
  return 0.5 + (s * h) / 3;
}

describe('the flat range of a learning-rate curve', () => {
  test('is the rates within 0.5 pp of the best mean, with its width as a factor', () => {
    const [s] = summarize(
      curve('gradsign', {
        0.001: [0.968, 0.972], // mean 0.970: 1 pp below
        0.003: [0.977, 0.979], // 0.978: within
        0.01: [0.979, 0.981], // 0.980: best
        0.03: [0.973, 0.975], // 0.974: 0.6 pp below
      }),
    );
    const range = flatRange(s!)!;
    expect(s!.best.learningRate).toBe(0.01);
    expect(range.learningRates).toEqual([0.003, 0.01]);
    expect([range.low, range.high]).toEqual([0.003, 0.01]);
    expect(range.factor).toBeCloseTo(10 / 3, 12);
    expect(formatFlatRange(range)).toBe('3e-3..1e-2 (3.3×)');
    expect(formatFlatTable([s!])).toMatch(
      /\| GradSign +\| 0\.01 +\| 98\.00 ± 0\.14 % +\| 3e-3\.\.1e-2 \(3\.3×\) +\| 4 +\|/,
    );
  });

  test('leaves out a rate where a run diverged, and is a single rate when nothing else is close', () => {
    const [s] = summarize([
      ...curve('adam', { 0.001: [0.95, 0.96], 0.003: [0.98, 0.98] }),
      fake('adam', 0.01, 0, 0.981),
      diverged('adam', 0.01, 1),
    ]);
    const range = flatRange(s!)!;
    expect(range.learningRates).toEqual([0.003]);
    expect(formatFlatRange(range)).toBe('3e-3 (1×)');
    const [all] = summarize([diverged('sgd', 1, 0)]);
    expect(flatRange(all!)).toBeUndefined();
    expect(formatFlatRange(undefined)).toBe('–');
  });

  test('the grid table gives n and the diverged runs per rate', () => {
    const [s] = summarize([fake('sgd', 0.1, 0, 0.9), diverged('sgd', 0.1, 1), fake('sgd', 0.03, 0, 0.8)]);
    const grid = formatGridTable([s!]);
    expect(grid.split('\n')[0]).toMatch(/\| Test loss +\| n +\| Diverged +\|$/);
    expect(grid).toMatch(/\| SGD +\| 0\.1 .*\| 1 +\| 1 +\|$/m);
    expect(grid).toMatch(/\| SGD \* +\| 0\.03 .*\| 1 +\| 0 +\|$/m);
    expect(formatRate(0.0031623)).toBe('3.16e-3');
  });
});

describe('the Student-t interval', () => {
  test('a hand-checked example: differences 1, 2, 3 pp', () => {
    // mean 2 pp, sd 1 pp, t(0.975, 2) = 4.302653 (tables), half-width 4.302653 / √3 = 2.48414 pp.
    const i = tInterval([0.01, 0.02, 0.03]);
    expect(i.n).toBe(3);
    expect(i.mean).toBeCloseTo(0.02, 12);
    expect(i.sd).toBeCloseTo(0.01, 12);
    expect(i.low).toBeCloseTo(0.02 - 0.0248414, 6);
    expect(i.high).toBeCloseTo(0.02 + 0.0248414, 6);
    // t(0.975, 4) = 2.776445 (tables): 1.1 ± 2.776445 · 0.1581139 / √5 pp.
    const j = tInterval([0.01, 0.012, 0.011, 0.009, 0.013]);
    expect(j.low).toBeCloseTo(0.011 - 0.00196324, 8);
    expect(tInterval([0.5]).low).toBeNaN();
    expect(() => tInterval([1, 2], 1)).toThrow(/confidence 1 is not in \(0, 1\)/);
  });

  test('its quantile agrees with the t density integrated numerically', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.constantFrom(0.8, 0.9, 0.95, 0.99), (nu, conf) => {
        // n = ν + 1 values, so the interval's half-width over sd/√n is t(1 − α/2, ν).
        const values = [-1, 1, ...Array.from({ length: nu - 1 }, () => 0)];
        const i = tInterval(values, conf);
        const t = (i.high - i.mean) / (i.sd / Math.sqrt(i.n));
        expect(tCdf(t, nu)).toBeCloseTo(1 - (1 - conf) / 2, 5);
      }),
      { numRuns: 40 },
    );
  });

  const sample = fc.array(fc.double({ min: -0.05, max: 0.05, noNaN: true }), { minLength: 2, maxLength: 12 });
  const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs) > 1e-6;

  test('is symmetric about the mean and shrinks as n grows at the same spread', () => {
    fc.assert(
      fc.property(sample, sample, fc.double({ min: 0.001, max: 0.05, noNaN: true }), (xs, ys, sd) => {
        fc.pre(spread(xs) && spread(ys) && xs.length !== ys.length);
        // Rescale both samples to the same sd.
        const rescale = (v: number[]) => {
          const i = tInterval(v);
          return v.map((x) => ((x - i.mean) / i.sd) * sd + 0.01);
        };
        const [small, large] =
          xs.length < ys.length ? [rescale(xs), rescale(ys)] : [rescale(ys), rescale(xs)];
        const a = tInterval(small);
        const b = tInterval(large);
        expect(a.high - a.mean).toBeCloseTo(a.mean - a.low, 12);
        expect(a.sd).toBeCloseTo(b.sd, 10);
        expect(b.high - b.low).toBeLessThan(a.high - a.low);
      }),
    );
  });
});

describe('paired differences', () => {
  const lr = (optimizer: string, seeds: number[], accuracies: number[]): LrSummary => ({
    optimizer,
    learningRate: 0.003,
    seeds,
    accuracies,
    mean: Number.NaN,
    sd: Number.NaN,
    diverged: [],
    meanLoss: 0,
    msPerStep: 0,
    stateBytes: 0,
    trainSeconds: 0,
  });

  test('pair runs by seed, leave out seeds one side lacks, and say whether the interval excludes 0', () => {
    const a = lr('gradsign', [2, 0, 1, 3], [0.975, 0.97, 0.972, 0.99]);
    const b = lr('adam', [0, 1, 2], [0.98, 0.981, 0.984]);
    const p = pairedDifference(a, b);
    expect(p.seeds).toEqual([0, 1, 2]);
    expect(p.differences.map((d) => Number((d * 1000).toFixed(6)))).toEqual([-10, -9, -9]);
    expect(p.n).toBe(3);
    expect(p.mean).toBeCloseTo(-0.009333333, 8);
    // sd of (−10, −9, −9) ‰ is 0.57735 ‰; t(0.975, 2) = 4.302653: half-width 1.43422 ‰.
    expect(p.high).toBeCloseTo(-0.009333333 + 0.00143422, 7);
    expect(p.resolved).toBe(true);
    expect(p.method).toBe('student-t');
    const table = formatPairedTable([p]);
    expect(table).toMatch(
      /\| GradSign − Adam +\| 0\.003 vs 0\.003 +\| -0\.93 pp +\| \[-1\.08, -0\.79\] pp +\| 3 +\| yes +\|/,
    );
    const noisy = pairedDifference(lr('sgd', [0, 1], [0.97, 0.99]), lr('adam', [0, 1], [0.98, 0.98]));
    expect(noisy.resolved).toBe(false);
    expect(formatPairedTable([pairedDifference(a, lr('sgd', [9], [0.9]))])).toMatch(/\| 0 +\| – +\|$/m);
  });

  test('swapping the optimizers negates the difference and its interval', () => {
    const accs = fc.array(fc.double({ min: 0.5, max: 1, noNaN: true }), { minLength: 2, maxLength: 8 });
    fc.assert(
      fc.property(accs, accs, (xs, ys) => {
        const n = Math.min(xs.length, ys.length);
        const seeds = Array.from({ length: n }, (_, i) => i);
        const a = lr('gradsign', seeds, xs.slice(0, n));
        const b = lr('adam', seeds, ys.slice(0, n));
        const ab = pairedDifference(a, b);
        const ba = pairedDifference(b, a);
        expect(ba.mean).toBeCloseTo(-ab.mean, 12);
        expect(ba.low).toBeCloseTo(-ab.high, 12);
        expect(ba.high).toBeCloseTo(-ab.low, 12);
        expect(ba.resolved).toBe(ab.resolved);
      }),
    );
  });

  test('every pair of optimizers, each at its best rate', () => {
    const summaries = summarize([
      ...curve('gradsign', { 0.001: [0.9, 0.91], 0.003: [0.97, 0.975] }),
      ...curve('adam', { 0.003: [0.98, 0.982] }),
      ...curve('sgd', { 0.03: [0.985, 0.99] }),
    ]);
    const pairs = pairedDifferences(summaries);
    expect(pairs.map((p) => [p.a, p.b, p.lrA, p.lrB, p.n])).toEqual([
      ['gradsign', 'adam', 0.003, 0.003, 2],
      ['gradsign', 'sgd', 0.003, 0.03, 2],
      ['adam', 'sgd', 0.003, 0.03, 2],
    ]);
    expect(pairs[0]!.mean).toBeCloseTo((0.97 - 0.98 + 0.975 - 0.982) / 2, 12);
  });
});
