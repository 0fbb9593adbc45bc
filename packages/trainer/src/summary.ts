import type { TrainResult } from './run.js';

/** All runs of one optimizer at one learning rate. */
export interface LrSummary {
  readonly optimizer: string;
  readonly learningRate: number;
  readonly seeds: readonly number[];
  /** Test accuracy (0…1) per seed, in run order. */
  readonly accuracies: readonly number[];
  /** Mean and sample standard deviation (n − 1) of the accuracies; sd is NaN for one run. */
  readonly mean: number;
  readonly sd: number;
  readonly meanLoss: number;
  readonly msPerStep: number;
  readonly stateBytes: number;
  readonly trainSeconds: number;
}

export interface OptimizerSummary {
  readonly optimizer: string;
  /** The learning rate with the best mean accuracy (ties: lower mean test loss). */
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

/** Groups evaluated runs by optimizer and learning rate, and picks each optimizer's best learning rate. */
export function summarize(results: readonly TrainResult[]): OptimizerSummary[] {
  const byOptimizer = new Map<string, Map<number, TrainResult[]>>();
  for (const r of results) {
    if (r.stopped || !Number.isFinite(r.testAccuracy)) continue;
    const name = r.config.optimizer;
    const lrs = byOptimizer.get(name) ?? new Map<number, TrainResult[]>();
    byOptimizer.set(name, lrs);
    lrs.set(r.config.learningRate, [...(lrs.get(r.config.learningRate) ?? []), r]);
  }
  return [...byOptimizer].map(([optimizer, lrs]) => {
    const grid = [...lrs]
      .sort(([a], [b]) => a - b)
      .map(([learningRate, runs]): LrSummary => {
        const accuracies = runs.map((r) => r.testAccuracy);
        return {
          optimizer,
          learningRate,
          seeds: runs.map((r) => r.config.seed),
          accuracies,
          ...meanSd(accuracies),
          meanLoss: average(runs.map((r) => r.testLoss)),
          msPerStep: average(runs.map((r) => r.msPerStep)),
          stateBytes: Math.max(...runs.map((r) => r.stateBytes)),
          trainSeconds: runs.reduce((a, r) => a + r.trainSeconds, 0),
        };
      });
    const best = grid.reduce((a, b) =>
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

/** '97.55 ± 0.46 %' (or '97.55 %' for one run), from accuracies in 0…1. */
export function formatAccuracy(summary: Pick<LrSummary, 'mean' | 'sd'>): string {
  const mean = (summary.mean * 100).toFixed(2);
  return Number.isFinite(summary.sd) ? `${mean} ± ${(summary.sd * 100).toFixed(2)} %` : `${mean} %`;
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
      String(best.seeds.length),
      formatBytes(best.stateBytes),
      best.msPerStep.toFixed(0),
    ]),
  );
}

/** Every optimizer × learning rate of a sweep, with per-seed accuracies. */
export function formatGridTable(summaries: readonly OptimizerSummary[]): string {
  return markdownTable(
    ['Optimizer', 'LR', 'Accuracy', 'Per seed', 'Test loss'],
    summaries.flatMap(({ optimizer, grid, best }) =>
      grid.map((g) => [
        displayName(optimizer) + (g === best ? ' *' : ''),
        String(g.learningRate),
        formatAccuracy(g),
        g.accuracies.map((a) => (a * 100).toFixed(2)).join(', '),
        g.meanLoss.toFixed(4),
      ]),
    ),
  );
}
