// A sweep's learning-rate curves (accuracy against learning rate, mean ± sd over seeds, per optimizer) as an SVG,
// and its flat ranges and paired differences as JSON.
import { displayName, type FlatRange, type OptimizerSummary, type PairedDifference } from '@gradsign/trainer';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

/** The file `writeOutputs` writes the curves to. */
export const LR_CURVES_FILE = 'lr-curves.svg';

/** Whether a curve is worth drawing: some optimizer ran more than one learning rate. */
export function hasCurves(summaries: readonly OptimizerSummary[]): boolean {
  return summaries.some((s) => s.grid.length > 1);
}

const finite = (v: number) => (Number.isFinite(v) ? v : null);

/** `flatRange` as JSON: `{ low, high, factor, learningRates, tolerancePp }`, or null when every run diverged. */
export function flatRangeJson(range: FlatRange | undefined) {
  if (!range) return null;
  const { low, high, factor, learningRates, tolerance } = range;
  return { low, high, factor, learningRates, tolerancePp: tolerance * 100 };
}

/** A paired difference as a JSON line (`type: 'paired'`); accuracies and bounds in 0…1, null where undefined. */
export function pairedJson(p: PairedDifference) {
  return {
    type: 'paired',
    a: p.a,
    b: p.b,
    lrA: p.lrA,
    lrB: p.lrB,
    n: p.n,
    seeds: p.seeds,
    differences: p.differences,
    mean: finite(p.mean),
    sd: finite(p.sd),
    low: finite(p.low),
    high: finite(p.high),
    confidence: p.confidence,
    method: p.method,
    resolved: p.resolved,
  };
}

interface CurvePoint {
  optimizer: string;
  lr: number;
  mean: number | null;
  low: number | null;
  high: number | null;
  diverged: string | null;
}

function curvePoints(summaries: readonly OptimizerSummary[]): CurvePoint[] {
  return summaries.flatMap((s) =>
    s.grid.map((g) => {
      const sd = Number.isFinite(g.sd) ? g.sd : 0;
      const runs = g.accuracies.length + g.diverged.length;
      return {
        optimizer: displayName(s.optimizer),
        lr: g.learningRate,
        mean: Number.isFinite(g.mean) ? g.mean * 100 : null,
        low: Number.isFinite(g.mean) ? (g.mean - sd) * 100 : null,
        high: Number.isFinite(g.mean) ? (g.mean + sd) * 100 : null,
        diverged: g.diverged.length > 0 ? `${g.diverged.length}/${runs}` : null,
      };
    }),
  );
}

/**
 * Test accuracy (%) against learning rate on a log axis: per optimizer, the mean over seeds as a line with points
 * and ± sd error bars; a ▼ on the bottom axis marks a rate where runs diverged, labelled with how many.
 */
export async function lrCurvesSvg(summaries: readonly OptimizerSummary[], subtitle: string): Promise<string> {
  const points = curvePoints(summaries);
  const measured = points.filter((p) => p.mean !== null);
  const lows = measured.map((p) => p.low!);
  const highs = measured.map((p) => p.high!);
  const bottom = lows.length > 0 ? Math.max(0, Math.floor(Math.min(...lows)) - 1) : 0;
  const top = highs.length > 0 ? Math.min(100, Math.ceil(Math.max(...highs)) + 1) : 100;
  const rates = [...new Set(points.map((p) => p.lr))].sort((a, b) => a - b);
  const x = {
    field: 'lr',
    type: 'quantitative' as const,
    title: 'learning rate (log scale)',
    scale: { type: 'log' as const, nice: false, padding: 24 },
    axis: { format: '.3~g', ...(rates.length <= 12 ? { values: rates } : {}) },
  };
  const y = {
    field: 'mean',
    type: 'quantitative' as const,
    title: 'test accuracy (%)',
    scale: { domain: [bottom, top], zero: false, nice: false },
  };
  const color = { field: 'optimizer', type: 'nominal' as const, title: 'optimizer' };
  const divergedAt = points
    .filter((p) => p.diverged !== null)
    .map((p) => ({ ...p, at: bottom, label: `${p.diverged} diverged` }));
  const spec: vegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Test accuracy against learning rate',
      subtitle: [subtitle, 'line: mean over seeds; bars: ± sd; ▼: rates where runs diverged (k/n seeds)'],
    },
    width: 640,
    height: 380,
    background: 'white',
    config: { legend: { labelFontSize: 13, titleFontSize: 13, symbolSize: 120, labelLimit: 0 } },
    layer: [
      {
        data: { values: measured },
        mark: { type: 'errorbar', ticks: { size: 8 }, thickness: 1.5 },
        encoding: { x, y: { ...y, field: 'low' }, y2: { field: 'high' }, color },
      },
      {
        data: { values: measured },
        mark: { type: 'line', point: { filled: true, size: 60 }, strokeWidth: 2 },
        encoding: { x, y, color },
      },
      ...(divergedAt.length > 0
        ? [
            {
              data: { values: divergedAt },
              mark: { type: 'point' as const, shape: 'triangle-down', filled: true, size: 110, opacity: 1 },
              encoding: { x, y: { ...y, field: 'at' }, color },
            },
            {
              data: { values: divergedAt },
              mark: { type: 'text' as const, dy: -12, fontSize: 10 },
              encoding: { x, y: { ...y, field: 'at' }, color, text: { field: 'label' } },
            },
          ]
        : []),
    ],
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
