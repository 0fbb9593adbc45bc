import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  displayName,
  flatRange,
  formatFlatTable,
  formatGridTable,
  formatPairedTable,
  formatResultsTable,
  type OptimizerSummary,
  pairedDifferences,
  type StepRecord,
  summarize,
  type TrainResult,
} from '@gradsign/trainer';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { flatRangeJson, hasCurves, LR_CURVES_FILE, lrCurvesSvg, pairedJson } from './sweep-curves.js';

/** A finished (or stopped) run with every step record this process saw. */
export interface RunOutput {
  readonly result: TrainResult;
  readonly records: readonly StepRecord[];
  /** Wall time of the run including evaluation, in seconds. */
  readonly wallSeconds: number;
  readonly resumedFrom?: number;
}

/** The JSON line printed per run with --json (and stored in results.json). */
export function runJson(run: RunOutput, extra: Record<string, unknown> = {}) {
  const r = run.result;
  return {
    type: 'run',
    optimizer: r.config.optimizer,
    lr: r.config.learningRate,
    seed: r.config.seed,
    steps: r.steps,
    batch: r.config.batchSize,
    model: r.config.model,
    backend: r.backend,
    workers: r.workers ?? 1,
    testAccuracy: r.testAccuracy,
    testLoss: r.testLoss,
    testExamples: r.testCount,
    trainSeconds: round(r.trainSeconds, 3),
    evalSeconds: round(r.evalSeconds, 3),
    wallSeconds: round(run.wallSeconds, 3),
    msPerStep: round(r.msPerStep, 2),
    msPerStepMedian: round(r.msPerStepMedian, 2),
    stateBytes: r.stateBytes,
    params: r.params,
    finalTrainLoss: r.finalTrainLoss,
    stopped: r.stopped,
    /** Present when the run diverged: `{ step, quantity, message }` (test metrics are then null). */
    ...(r.diverged ? { diverged: r.diverged } : {}),
    ...(r.skippedSteps ? { skippedSteps: r.skippedSteps } : {}),
    /** Present when the losses start after step 1 (resumed from a checkpoint without the step history). */
    ...(r.historyFrom !== undefined ? { historyFrom: r.historyFrom } : {}),
    /** The process's peak resident set so far (for a sweep, the largest of all its runs so far). */
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    ...(r.config.optimizerConfig ? { optimizerConfig: r.config.optimizerConfig } : {}),
    ...(run.resumedFrom !== undefined ? { resumedFrom: run.resumedFrom } : {}),
    ...extra,
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Number.isFinite(value) ? Math.round(value * f) / f : value;
}

/** Trailing moving average, window `w`. */
export function smooth(values: readonly number[], w: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!;
    if (i >= w) sum -= values[i - w]!;
    out.push(sum / Math.min(i + 1, w));
  }
  return out;
}

function runLabel(r: TrainResult): string {
  return `lr=${r.config.learningRate} seed=${r.config.seed}`;
}

interface Point {
  step: number;
  loss: number;
  series: string;
  optimizer: string;
}

function points(run: RunOutput, series: string, smoothed: boolean): Point[] {
  // Steps whose loss is not finite (skipped updates) have no point on a log scale.
  const records = run.records.filter((r) => Number.isFinite(r.loss));
  const steps = records.map((r) => r.step);
  const raw = records.map((r) => Math.max(r.loss, 1e-6));
  const window = Math.max(1, Math.min(25, Math.floor(raw.length / 10)));
  const values = smoothed ? smooth(raw, window) : raw;
  const optimizer = displayName(run.result.config.optimizer);
  return values.map((loss, i) => ({ step: steps[i]!, loss, series, optimizer }));
}

/** An SVG line chart of training loss (log scale), rendered headless with vega-lite → vega (no canvas). */
export async function lossChartSvg(
  title: string,
  runs: readonly RunOutput[],
  options: { colorBy: 'series' | 'optimizer'; label: (run: RunOutput) => string },
): Promise<string> {
  const smoothed = runs.flatMap((run) => points(run, options.label(run), true));
  const color = {
    field: options.colorBy,
    type: 'nominal' as const,
    title: options.colorBy === 'series' ? 'run' : 'optimizer',
  };
  const x = { field: 'step', type: 'quantitative' as const, title: 'step' };
  // The y range follows the smoothed curves; single batches far below them are clipped rather than stretching
  // the axis over decades.
  const smoothedLosses = smoothed.map((p) => p.loss);
  const domain = [Math.min(...smoothedLosses) / 4, Math.max(...smoothedLosses) * 1.5] as const;
  const raw = runs
    .flatMap((run) => points(run, options.label(run), false))
    .map((p) => ({ ...p, loss: Math.min(Math.max(p.loss, domain[0]), domain[1]) }));
  const y = {
    field: 'loss',
    type: 'quantitative' as const,
    title: 'training loss',
    scale: { type: 'log' as const, domain: [...domain], nice: false },
  };
  const spec: vegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: 'faint: the loss of each batch; line: moving average; log scale' },
    width: 640,
    height: 360,
    background: 'white',
    layer: [
      {
        data: { values: raw },
        mark: { type: 'line', strokeWidth: 1, opacity: 0.2, clip: true },
        encoding: { x, y, color, detail: { field: 'series', type: 'nominal' } },
      },
      {
        data: { values: smoothed },
        mark: { type: 'line', strokeWidth: 2, clip: true },
        encoding: { x, y, color, detail: { field: 'series', type: 'nominal' } },
      },
    ],
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const CSV_HEADER = 'optimizer,lr,seed,step,loss,ms_per_step,epoch';

/**
 * Writes `steps.csv` and `steps.json` (every step of every run), `results.json` (the run lines, the summary and
 * the paired differences), SVG loss plots (`loss-<optimizer>.svg` per optimizer and `loss.svg` with all of them)
 * and, when some optimizer ran more than one learning rate, `lr-curves.svg`.
 */
export async function writeOutputs(
  dir: string,
  runs: readonly RunOutput[],
  wallSeconds: number,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const write = async (name: string, content: string) => {
    await writeFile(join(dir, name), content);
    written.push(join(dir, name));
  };
  const csv = [CSV_HEADER];
  const stepsJson: unknown[] = [];
  for (const run of runs) {
    const c = run.result.config;
    for (const r of run.records) {
      csv.push(
        [c.optimizer, c.learningRate, c.seed, r.step, r.loss, r.msPerStep.toFixed(3), r.epoch].join(','),
      );
      stepsJson.push({
        optimizer: c.optimizer,
        lr: c.learningRate,
        seed: c.seed,
        step: r.step,
        loss: r.loss,
        msPerStep: round(r.msPerStep, 3),
        epoch: r.epoch,
      });
    }
  }
  await write('steps.csv', `${csv.join('\n')}\n`);
  await write('steps.json', `${JSON.stringify(stepsJson)}\n`);
  const summaries: OptimizerSummary[] = summarize(runs.map((r) => r.result));
  const paired = pairedDifferences(summaries);
  await write(
    'results.json',
    `${JSON.stringify(
      {
        runs: runs.map((r) => runJson(r)),
        summary: summaries.map(summaryJson),
        table: summaries.length > 0 ? formatResultsTable(summaries) : null,
        grid: summaries.length > 0 ? formatGridTable(summaries) : null,
        paired: paired.map(pairedJson),
        pairedTable: paired.length > 0 ? formatPairedTable(paired) : null,
        flatTable: hasCurves(summaries) ? formatFlatTable(summaries) : null,
        wallSeconds: round(wallSeconds, 3),
      },
      null,
      2,
    )}\n`,
  );
  const byOptimizer = new Map<string, RunOutput[]>();
  for (const run of runs) {
    if (!run.records.some((r) => Number.isFinite(r.loss))) continue;
    const name = run.result.config.optimizer;
    byOptimizer.set(name, [...(byOptimizer.get(name) ?? []), run]);
  }
  for (const [name, list] of byOptimizer) {
    const svg = await lossChartSvg(`${displayName(name)}: training loss`, list, {
      colorBy: 'series',
      label: (run) => runLabel(run.result),
    });
    await write(`loss-${name.replace(/[^a-z0-9-]/gi, '_')}.svg`, svg);
  }
  if (byOptimizer.size > 0) {
    const all = [...byOptimizer.values()].flat();
    const svg = await lossChartSvg('Training loss by optimizer', all, {
      colorBy: 'optimizer',
      label: (run) => `${displayName(run.result.config.optimizer)} ${runLabel(run.result)}`,
    });
    await write('loss.svg', svg);
  }
  if (hasCurves(summaries)) {
    const c = (runs.find((r) => !r.result.diverged) ?? runs[0]!).result;
    const protocol = `${c.config.model}, ${c.config.steps} steps × ${c.config.batchSize}, ${c.testCount} test images`;
    await write(LR_CURVES_FILE, await lrCurvesSvg(summaries, protocol));
  }
  return written;
}

/** The summary of one optimizer as JSON. */
export function summaryJson(s: OptimizerSummary) {
  return {
    type: 'summary',
    optimizer: s.optimizer,
    bestLr: s.best.learningRate,
    accuracyMean: Number.isFinite(s.best.mean) ? s.best.mean : null,
    accuracySd: Number.isFinite(s.best.sd) ? s.best.sd : null,
    seeds: s.best.seeds,
    accuracies: s.best.accuracies,
    /** Runs of the best learning rate that diverged (never part of the mean). */
    diverged: s.best.diverged,
    msPerStep: round(s.best.msPerStep, 2),
    stateBytes: s.best.stateBytes,
    /** The rates within 0.5 pp of the best mean: `{ low, high, factor, learningRates, tolerancePp }`. */
    flatRange: flatRangeJson(flatRange(s)),
    grid: s.grid.map((g) => ({
      lr: g.learningRate,
      accuracyMean: Number.isFinite(g.mean) ? g.mean : null,
      accuracySd: Number.isFinite(g.sd) ? g.sd : null,
      accuracies: g.accuracies,
      /** Seeds in the mean, and runs that diverged (listed in `diverged`). */
      n: g.accuracies.length,
      divergedRuns: g.diverged.length,
      diverged: g.diverged,
      testLoss: Number.isFinite(g.meanLoss) ? g.meanLoss : null,
    })),
  };
}
