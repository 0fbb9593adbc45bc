// The learning-rate curves of a sweep run on the page: test accuracy (%) against learning rate on a log axis, the
// mean over seeds per optimizer with ± sd error bars, and a ▼ on the bottom axis where runs diverged.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ResultsTable } from '../protocol';
import { PALETTE } from './charts';

type Curve = ResultsTable['curves'][number];

/** Whether a curve is worth drawing: some optimizer ran more than one learning rate. */
export function hasCurves(curves: readonly Curve[]): boolean {
  return curves.some((c) => c.points.length > 1);
}

function describe(curves: readonly Curve[]): string {
  const parts = curves.map((c) => {
    const measured = c.points.filter((p) => p.mean !== null);
    const best = measured.reduce<Curve['points'][number] | undefined>(
      (a, p) => (a === undefined || p.mean! > a.mean! ? p : a),
      undefined,
    );
    return best
      ? `${c.optimizer}: ${c.points.length} rates, highest mean ${(best.mean! * 100).toFixed(1)} % at ${best.learningRate}`
      : `${c.optimizer}: every run diverged`;
  });
  return `Test accuracy against learning rate (log scale), mean ± sd over seeds. ${parts.join('; ')}.`;
}

/** Draws the curves into a new element; `destroy` frees the chart. */
export function lrCurvesChart(
  curves: readonly Curve[],
  width: number,
): { element: HTMLElement; destroy(): void } {
  const element = document.createElement('div');
  element.className = 'chart';
  element.dataset.testid = 'lr-curves';
  element.setAttribute('role', 'img');
  element.setAttribute('aria-label', describe(curves));
  const xs = [...new Set(curves.flatMap((c) => c.points.map((p) => p.learningRate)))].sort((a, b) => a - b);
  const at = (c: Curve, x: number) => c.points.find((p) => p.learningRate === x);
  const means = curves.map((c) => xs.map((x) => (at(c, x)?.mean == null ? null : at(c, x)!.mean! * 100)));
  element.dataset.points = String(means.flat().filter((v) => v !== null).length);
  const color = (i: number) => PALETTE[i % PALETTE.length]!;
  const spans = curves.flatMap((c) =>
    c.points.flatMap((p) => (p.mean === null ? [] : [p.mean - (p.sd ?? 0), p.mean + (p.sd ?? 0)])),
  );
  const yRange: [number, number] =
    spans.length > 0
      ? [
          Math.max(0, Math.floor(Math.min(...spans) * 100 - 1)),
          Math.min(100, Math.ceil(Math.max(...spans) * 100 + 1)),
        ]
      : [0, 100];

  const drawBars = (u: uPlot) => {
    const ctx = u.ctx;
    const bottom = u.bbox.top + u.bbox.height;
    ctx.save();
    ctx.lineWidth = 1.5 * uPlot.pxRatio;
    curves.forEach((c, i) => {
      ctx.strokeStyle = color(i);
      ctx.fillStyle = color(i);
      for (const p of c.points) {
        const x = u.valToPos(p.learningRate, 'x', true);
        if (p.mean !== null && p.sd !== null) {
          const [lo, hi] = [(p.mean - p.sd) * 100, (p.mean + p.sd) * 100].map((v) =>
            u.valToPos(v, 'y', true),
          );
          const tick = 4 * uPlot.pxRatio;
          ctx.beginPath();
          for (const y of [lo!, hi!]) {
            ctx.moveTo(x - tick, y);
            ctx.lineTo(x + tick, y);
          }
          ctx.moveTo(x, lo!);
          ctx.lineTo(x, hi!);
          ctx.stroke();
        }
        if (p.diverged > 0) {
          const s = 6 * uPlot.pxRatio;
          ctx.beginPath();
          ctx.moveTo(x - s, bottom - s * 1.6);
          ctx.lineTo(x + s, bottom - s * 1.6);
          ctx.lineTo(x, bottom);
          ctx.fill();
          ctx.font = `${10 * uPlot.pxRatio}px sans-serif`;
          ctx.textAlign = 'center';
          ctx.fillText(`${p.diverged}/${p.diverged + p.n} diverged`, x, bottom - s * 2);
        }
      }
    });
    ctx.restore();
  };

  const plot = new uPlot(
    {
      width,
      height: 280,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // A little room either side, so the first and last points are whole.
        x: { time: false, distr: 3, log: 10, range: (_u, min, max) => [min / 1.5, max * 1.5] },
        y: { range: () => yRange },
      },
      axes: [
        { label: 'learning rate (log scale)', stroke: '#1f2937', grid: { stroke: '#e5e7eb' } },
        { label: 'test accuracy (%)', stroke: '#1f2937', grid: { stroke: '#e5e7eb' }, size: 56 },
      ],
      series: [
        { label: 'learning rate' },
        ...curves.map((c, i) => ({
          label: c.optimizer,
          stroke: color(i),
          width: 2,
          spanGaps: true,
          points: { show: true, size: 7, fill: color(i) },
        })),
      ],
      hooks: { draw: [drawBars] },
    },
    [xs, ...means],
    element,
  );
  return { element, destroy: () => plot.destroy() };
}
