import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface SeriesStyle {
  label: string;
  color: string;
  dash?: number[];
}

interface Line extends SeriesStyle {
  id: number;
  xs: number[];
  ys: number[];
}

export interface ChartOptions {
  title: string;
  yLabel: string;
  /** Logarithmic y axis (loss). */
  log?: boolean;
  /** Draw the points (sparse series such as periodic test accuracy). */
  points?: boolean;
  /** The y range for data between min and max (default: uPlot's automatic range). */
  yRange?: (min: number, max: number) => [number, number];
  /** Span the x axis from step 0 to this (sparse series: one point then sits where it belongs in the run). */
  xSpan?: () => number;
  /** Exponential smoothing weight applied for display (0: raw). */
  smoothing?: () => number;
  format: (v: number) => string;
}

/**
 * One uPlot chart with a line per run. Points are appended as they arrive and drawn at most once per animation
 * frame, so thousands of points per run stay smooth. The container's `data-points` attribute counts the points
 * received (a stable hook for tests), and its aria-label summarises the latest values.
 */
export class RunChart {
  private readonly lines: Line[] = [];
  private readonly plot: uPlot;
  private pending = false;

  constructor(
    private readonly container: HTMLElement,
    private readonly options: ChartOptions,
  ) {
    container.setAttribute('role', 'img');
    this.plot = new uPlot(
      {
        width: this.width(),
        height: this.height(),
        legend: { show: true, live: true },
        cursor: { drag: { x: true, y: false } },
        scales: {
          x: {
            time: false,
            ...(options.xSpan ? { range: (_u, _min, max) => [0, Math.max(1, max, options.xSpan!())] } : {}),
          },
          y: options.log
            ? { distr: 3, log: 10 }
            : options.yRange
              ? { range: (_u, min, max) => options.yRange!(min, max) }
              : {},
        },
        axes: [
          {
            label: 'step',
            stroke: '#1f2937',
            grid: { stroke: '#e5e7eb' },
            ticks: { stroke: '#9ca3af' },
            // Whole steps only.
            incrs: [
              1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 50_000,
            ],
          },
          {
            label: options.yLabel,
            stroke: '#1f2937',
            grid: { stroke: '#e5e7eb' },
            ticks: { stroke: '#9ca3af' },
            size: 56,
            values: (_u, splits) => splits.map((v) => (v == null ? '' : options.format(v))),
          },
        ],
        series: [{ label: 'step' }],
      },
      [[]],
      container,
    );
    new ResizeObserver(() => this.plot.setSize({ width: this.width(), height: this.height() })).observe(
      container,
    );
    this.describe();
  }

  private width(): number {
    return Math.max(240, this.container.clientWidth);
  }

  private height(): number {
    return window.matchMedia('(max-width: 640px)').matches ? 200 : 260;
  }

  addLine(id: number, style: SeriesStyle): void {
    this.lines.push({ id, ...style, xs: [], ys: [] });
    this.plot.addSeries(
      {
        label: style.label,
        stroke: style.color,
        width: 1.5,
        ...(style.dash ? { dash: style.dash } : {}),
        spanGaps: true,
        points: { show: this.options.points ?? false, size: 6, fill: style.color },
        value: (_u, v) => (v == null ? '–' : this.options.format(v)),
      },
      this.lines.length,
    );
    this.schedule();
  }

  push(id: number, x: number, y: number): void {
    const line = this.lines.find((l) => l.id === id);
    if (line == null) return;
    line.xs.push(x);
    line.ys.push(y);
    this.schedule();
  }

  clear(): void {
    for (let i = this.lines.length; i >= 1; i--) this.plot.delSeries(i);
    this.lines.length = 0;
    this.schedule();
  }

  /** Redraws when the display options change (smoothing). */
  refresh(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.plot.setData(this.aligned());
      this.describe();
    });
  }

  /** uPlot wants one shared x array: the sorted union of every line's steps, with gaps as null. */
  private aligned(): uPlot.AlignedData {
    const steps = [...new Set(this.lines.flatMap((l) => l.xs))].sort((a, b) => a - b);
    const where = new Map(steps.map((s, i) => [s, i]));
    const weight = this.options.smoothing?.() ?? 0;
    const columns = this.lines.map((line) => {
      const column: (number | null)[] = new Array(steps.length).fill(null);
      let ema = 0;
      line.ys.forEach((y, k) => {
        ema = weight * ema + (1 - weight) * y;
        // Debiased as TensorBoard does, so the first points are not pulled towards 0.
        column[where.get(line.xs[k]!)!] = weight > 0 ? ema / (1 - weight ** (k + 1)) : y;
      });
      return column;
    });
    return [steps, ...columns] as uPlot.AlignedData;
  }

  private describe(): void {
    const total = this.lines.reduce((n, l) => n + l.xs.length, 0);
    this.container.dataset.points = String(total);
    const latest = this.lines
      .filter((l) => l.xs.length > 0)
      .map((l) => `${l.label}: ${this.options.format(l.ys.at(-1)!)} at step ${l.xs.at(-1)}`);
    this.container.setAttribute(
      'aria-label',
      `${this.options.title}. ${latest.length > 0 ? latest.join('; ') : 'No data yet.'}`,
    );
  }
}
