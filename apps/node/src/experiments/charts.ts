// Line charts of the experiments (thesis, spiky), rendered headless with vega-lite → vega like output.ts's loss plots.
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

/** One point of a line: `series` names the line (the legend), `panel` the chart it is drawn in. */
export interface LinePoint {
  readonly x: number;
  readonly y: number;
  readonly series: string;
  readonly panel: string;
}

/**
 * An SVG of one line per series, one panel per distinct `panel` (stacked, each with its own y axis), with labelled
 * axes and a legend that lists the series in the order given.
 */
export async function linePanelsSvg(options: {
  readonly title: string;
  readonly subtitle: string;
  readonly xTitle: string;
  readonly points: readonly LinePoint[];
  readonly logY?: boolean;
  /** A series drawn thick and dark (e.g. the pooled `all`). */
  readonly emphasize?: string;
}): Promise<string> {
  const order = [...new Set(options.points.map((p) => p.series))];
  const panels = [...new Set(options.points.map((p) => p.panel))];
  const spec: vegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: options.title, subtitle: options.subtitle },
    background: 'white',
    vconcat: panels.map((panel) => ({
      width: 640,
      height: 240,
      data: { values: options.points.filter((p) => p.panel === panel) },
      mark: { type: 'line', point: { size: 10 }, clip: true },
      encoding: {
        strokeWidth: {
          condition: { test: `datum.series === ${JSON.stringify(options.emphasize ?? null)}`, value: 4 },
          value: 1.5,
        },
        x: { field: 'x', type: 'quantitative', title: options.xTitle },
        y: {
          field: 'y',
          type: 'quantitative',
          title: panel,
          scale: options.logY ? { type: 'log' } : { zero: false },
        },
        color: {
          field: 'series',
          type: 'nominal',
          title: null,
          sort: order,
          scale: { scheme: order.length > 10 ? 'category20' : 'category10' },
          legend: { columns: order.length > 12 ? 2 : 1, symbolStrokeWidth: 3, labelFontSize: 11 },
        },
      },
    })),
    resolve: { scale: { color: 'shared' } },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** `mean ± sd` with `digits` significant digits (sd '–' for one value). */
export function formatMeanSd(mean: number, sd: number, digits = 3): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toPrecision(digits) : '–');
  return `${f(mean)} ± ${f(sd)}`;
}
