// Statistics of a sweep beyond mean ± sd: how flat each optimizer's learning-rate curve is near its best rate, and
// paired differences between optimizers run on the same seeds (same initialisation and data order).
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import {
  displayName,
  formatAccuracy,
  type LrSummary,
  markdownTable,
  meanSd,
  type OptimizerSummary,
} from './summary.js';

/** Rates whose mean accuracy is within this much (0.5 percentage points) of the best mean are "flat". */
export const FLAT_TOLERANCE = 0.005;

/** The learning rates whose mean accuracy is within `tolerance` of the best rate's mean. */
export interface FlatRange {
  /** Lowest and highest such rate, and high / low. */
  readonly low: number;
  readonly high: number;
  readonly factor: number;
  /** Every such rate, ascending (a dip between low and high leaves a rate out). */
  readonly learningRates: readonly number[];
  /** Accuracy (0…1) below the best mean that still counts as flat. */
  readonly tolerance: number;
}

/**
 * The flat range of one optimizer's curve: rates with a mean within `tolerance` of the best mean. A rate where
 * some run diverged counts only when the best rate had diverged runs too. Undefined when the best rate has no
 * mean (every run diverged).
 */
export function flatRange(summary: OptimizerSummary, tolerance = FLAT_TOLERANCE): FlatRange | undefined {
  const { best, grid } = summary;
  if (!Number.isFinite(best.mean)) return undefined;
  const learningRates = grid
    .filter((g) => Number.isFinite(g.mean) && g.mean >= best.mean - tolerance - 1e-12)
    .filter((g) => g.diverged.length === 0 || best.diverged.length > 0)
    .map((g) => g.learningRate);
  const low = learningRates[0]!;
  const high = learningRates.at(-1)!;
  return { low, high, factor: high / low, learningRates, tolerance };
}

/** '1e-3', '3.16e-3', '0.1' → '1e-1': a learning rate in short exponent form. */
export function formatRate(lr: number): string {
  const [mantissa, exponent] = lr.toExponential(2).split('e');
  return `${Number(mantissa)}e${Number(exponent)}`;
}

/** '1e-3..1e-2 (10×)', or '3e-3 (1×)' for a single rate. */
export function formatFlatRange(range: FlatRange | undefined): string {
  if (!range) return '–';
  const factor = `${Number(range.factor.toPrecision(2))}×`;
  return range.low === range.high
    ? `${formatRate(range.low)} (${factor})`
    : `${formatRate(range.low)}..${formatRate(range.high)} (${factor})`;
}

/** A confidence interval for a mean: Student-t on the values (NaN bounds for fewer than two values). */
export interface MeanInterval {
  readonly n: number;
  readonly mean: number;
  readonly sd: number;
  readonly low: number;
  readonly high: number;
  readonly confidence: number;
}

/** mean ± t(1 − α/2, n − 1) · sd / √n, the Student-t interval for the mean of `values`. */
export function tInterval(values: readonly number[], confidence = 0.95): MeanInterval {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence ${confidence} is not in (0, 1)`);
  const n = values.length;
  const { mean, sd } = meanSd(values);
  if (n < 2) return { n, mean, sd, low: Number.NaN, high: Number.NaN, confidence };
  const half = tQuantile(1 - (1 - confidence) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean, sd, low: mean - half, high: mean + half, confidence };
}

/** The paired difference of test accuracy between optimizers `a` and `b`, each at its own learning rate. */
export interface PairedDifference extends MeanInterval {
  readonly a: string;
  readonly b: string;
  readonly lrA: number;
  readonly lrB: number;
  /** Seeds evaluated for both (diverged runs are left out), ascending, and accuracy a − b per seed (0…1). */
  readonly seeds: readonly number[];
  readonly differences: readonly number[];
  readonly method: 'student-t';
  /** The interval excludes 0: the sign of the difference is resolved at this n. */
  readonly resolved: boolean;
}

/** a − b on the seeds both evaluated, with a Student-t interval on the per-seed differences. */
export function pairedDifference(a: LrSummary, b: LrSummary, confidence = 0.95): PairedDifference {
  const ofB = new Map(b.seeds.map((seed, i) => [seed, b.accuracies[i]!]));
  const pairs = a.seeds
    .map((seed, i) => [seed, a.accuracies[i]!, ofB.get(seed)] as const)
    .filter((p): p is readonly [number, number, number] => p[2] !== undefined)
    .sort((x, y) => x[0] - y[0]);
  const differences = pairs.map(([, x, y]) => x - y);
  const interval = tInterval(differences, confidence);
  return {
    a: a.optimizer,
    b: b.optimizer,
    lrA: a.learningRate,
    lrB: b.learningRate,
    seeds: pairs.map(([seed]) => seed),
    differences,
    ...interval,
    method: 'student-t',
    resolved: interval.low > 0 || interval.high < 0,
  };
}

/** Every pair of optimizers (in summary order: first − second), each at its best learning rate. */
export function pairedDifferences(
  summaries: readonly OptimizerSummary[],
  confidence = 0.95,
): PairedDifference[] {
  return summaries.flatMap((s, i) =>
    summaries.slice(i + 1).map((t) => pairedDifference(s.best, t.best, confidence)),
  );
}

const pp = (v: number, sign = false) =>
  Number.isFinite(v) ? `${sign && v > 0 ? '+' : ''}${(v * 100).toFixed(2)}` : '–';

/** The header of {@link formatPairedTable} for intervals at `confidence`. */
export function pairedHeader(confidence = 0.95): string[] {
  return [
    'Pair (a − b)',
    'LRs',
    'Difference',
    `${Math.round(confidence * 100)} % CI (paired t)`,
    'n',
    'Resolved',
  ];
}

/** One row of {@link formatPairedTable}: the pair, its rates, the difference and interval in pp, n, resolved. */
export function pairedRow(p: PairedDifference): string[] {
  return [
    `${displayName(p.a)} − ${displayName(p.b)}`,
    `${p.lrA} vs ${p.lrB}`,
    Number.isFinite(p.mean) ? `${pp(p.mean, true)} pp` : '–',
    p.n >= 2 ? `[${pp(p.low, true)}, ${pp(p.high, true)}] pp` : 'needs 2 seeds',
    String(p.n),
    p.n < 2 ? '–' : p.resolved ? 'yes' : 'no',
  ];
}

/** The paired differences as a table: percentage points, the t interval, n and whether it is resolved. */
export function formatPairedTable(pairs: readonly PairedDifference[]): string {
  return markdownTable(pairedHeader(pairs[0]?.confidence), pairs.map(pairedRow));
}

/** Per optimizer: the best rate, its accuracy, and the rates within 0.5 pp of it (how hard it is to tune). */
export function formatFlatTable(summaries: readonly OptimizerSummary[], tolerance = FLAT_TOLERANCE): string {
  return markdownTable(
    [
      'Optimizer',
      'Best LR',
      'Accuracy',
      `Flat range (within ${(tolerance * 100).toFixed(1)} pp)`,
      'Rates tried',
    ],
    summaries.map((s) => [
      displayName(s.optimizer),
      String(s.best.learningRate),
      formatAccuracy(s.best),
      formatFlatRange(flatRange(s, tolerance)),
      String(s.grid.length),
    ]),
  );
}
