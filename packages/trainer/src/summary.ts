import type { Divergence } from './errors.js';
import type { TrainResult } from './run.js';

/** A run of a summary that diverged, with its seed. */
export interface DivergedRun extends Divergence {
  readonly seed: number;
}

/** All runs of one optimizer at one learning rate. */
export interface LrSummary {
  readonly optimizer: string;
  readonly learningRate: number;
  /** Seeds of the evaluated runs, in run order (diverged runs are in `diverged`). */
  readonly seeds: readonly number[];
  /** Test accuracy (0…1) per evaluated seed, in run order. */
  readonly accuracies: readonly number[];
  /**
   * Mean and sample standard deviation (n − 1) of the accuracies; sd is NaN for one run, both are NaN when every
   * run diverged. Diverged runs are never part of them.
   */
  readonly mean: number;
  readonly sd: number;
  /** Runs that diverged (empty when none did). */
  readonly diverged: readonly DivergedRun[];
  readonly meanLoss: number;
  readonly msPerStep: number;
  readonly stateBytes: number;
  readonly trainSeconds: number;
}

/** One optimizer's results in a sweep, per learning rate, with the best learning rate picked. */
export interface OptimizerSummary {
  readonly optimizer: string;
  /**
   * The learning rate with the best mean accuracy (ties: lower mean test loss) among those where no run diverged;
   * failing that, among those where some run finished; failing that (every run diverged), the first.
   */
  readonly best: LrSummary;
  /** Every learning rate tried, ascending. */
  readonly grid: readonly LrSummary[];
}

/** Mean and sample standard deviation (NaN for fewer than two values). */
export function meanSd(values: readonly number[]): { mean: number; sd: number } {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, sd: Number.NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, sd: Number.NaN };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(ss / (n - 1)) };
}

const average = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * Groups evaluated and diverged runs by optimizer and learning rate, and picks each optimizer's best learning rate.
 * Runs stopped early or not evaluated are left out.
 */
export function summarize(results: readonly TrainResult[]): OptimizerSummary[] {
  const byOptimizer = new Map<string, Map<number, TrainResult[]>>();
  for (const r of results) {
    if (!r.diverged && (r.stopped || !Number.isFinite(r.testAccuracy))) continue;
    const name = r.config.optimizer;
    const lrs = byOptimizer.get(name) ?? new Map<number, TrainResult[]>();
    byOptimizer.set(name, lrs);
    lrs.set(r.config.learningRate, [...(lrs.get(r.config.learningRate) ?? []), r]);
  }
  return [...byOptimizer].map(([optimizer, lrs]) => {
    const grid = [...lrs]
      .sort(([a], [b]) => a - b)
      .map(([learningRate, all]): LrSummary => {
        const runs = all.filter((r) => !r.diverged);
        const accuracies = runs.map((r) => r.testAccuracy);
        return {
          optimizer,
          learningRate,
          seeds: runs.map((r) => r.config.seed),
          accuracies,
          ...meanSd(accuracies),
          diverged: all.flatMap((r) => (r.diverged ? [{ ...r.diverged, seed: r.config.seed }] : [])),
          meanLoss: runs.length > 0 ? average(runs.map((r) => r.testLoss)) : Number.NaN,
          msPerStep: average(all.map((r) => r.msPerStep)),
          stateBytes: Math.max(...all.map((r) => r.stateBytes)),
          trainSeconds: all.reduce((a, r) => a + r.trainSeconds, 0),
        };
      });
    const clean = grid.filter((g) => g.diverged.length === 0);
    const finished = grid.filter((g) => g.accuracies.length > 0);
    const candidates = clean.length > 0 ? clean : finished.length > 0 ? finished : grid;
    const best = candidates.reduce((a, b) =>
      b.mean > a.mean || (b.mean === a.mean && b.meanLoss < a.meanLoss) ? b : a,
    );
    return { optimizer, best, grid };
  });
}

const DISPLAY: Record<string, string> = { gradsign: 'GradSign', adam: 'Adam', adamw: 'AdamW', sgd: 'SGD' };

/** 'GradSign' for 'gradsign', and so on; unknown names unchanged. */
export function displayName(optimizer: string): string {
  return DISPLAY[optimizer] ?? optimizer;
}

/** 'diverged at step 2', or 'diverged (2 of 3 seeds, at steps 2, 5)'. */
export function formatDiverged(diverged: readonly Divergence[], runs: number): string {
  if (diverged.length === 1 && runs === 1) return `diverged at step ${diverged[0]!.step}`;
  const steps = diverged.map((d) => d.step).join(', ');
  return `diverged (${diverged.length} of ${runs} seeds, at step${diverged.length === 1 ? '' : 's'} ${steps})`;
}

/**
 * '97.55 ± 0.46 %' (or '97.55 %' for one run), from accuracies in 0…1. With diverged runs: 'diverged at step 2'
 * when all diverged, '97.55 % (1 of 2 seeds diverged)' when some did.
 */
export function formatAccuracy(
  summary: Pick<LrSummary, 'mean' | 'sd'> & Partial<Pick<LrSummary, 'diverged' | 'accuracies'>>,
): string {
  const diverged = summary.diverged ?? [];
  const runs = (summary.accuracies?.length ?? 0) + diverged.length;
  if (diverged.length > 0 && !Number.isFinite(summary.mean)) return formatDiverged(diverged, runs);
  const mean = (summary.mean * 100).toFixed(2);
  const text = Number.isFinite(summary.sd) ? `${mean} ± ${(summary.sd * 100).toFixed(2)} %` : `${mean} %`;
  return diverged.length > 0 ? `${text} (${diverged.length} of ${runs} seeds diverged)` : text;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

/** Renders a markdown table. `rows` are arrays of cells; columns are padded to line up in plain text too. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/**
 * The results table in the write-up's form (optimizer, best learning rate, accuracy mean ± sd), with the number
 * of seeds, the optimizer state and the speed.
 */
export function formatResultsTable(summaries: readonly OptimizerSummary[]): string {
  return markdownTable(
    ['Optimizer', 'Best LR', 'Accuracy', 'Seeds', 'State', 'ms/step'],
    summaries.map(({ optimizer, best }) => [
      displayName(optimizer),
      String(best.learningRate),
      formatAccuracy(best),
      String(best.seeds.length + best.diverged.length),
      formatBytes(best.stateBytes),
      best.msPerStep.toFixed(0),
    ]),
  );
}

/**
 * Every optimizer × learning rate of a sweep, with per-seed accuracies, the number of evaluated seeds (n, the
 * mean's) and of diverged runs.
 */
export function formatGridTable(summaries: readonly OptimizerSummary[]): string {
  return markdownTable(
    ['Optimizer', 'LR', 'Accuracy', 'Per seed', 'Test loss', 'n', 'Diverged'],
    summaries.flatMap(({ optimizer, grid, best }) =>
      grid.map((g) => [
        displayName(optimizer) + (g === best ? ' *' : ''),
        String(g.learningRate),
        formatAccuracy(g),
        [
          ...g.accuracies.map((a) => (a * 100).toFixed(2)),
          ...g.diverged.map((d) => `seed ${d.seed} diverged at step ${d.step}`),
        ].join(', '),
        Number.isFinite(g.meanLoss) ? g.meanLoss.toFixed(4) : '–',
        String(g.accuracies.length),
        String(g.diverged.length),
      ]),
    ),
  );
}
