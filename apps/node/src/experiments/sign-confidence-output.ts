// The files of `gradsign thesis`: the sign-confidence report as markdown, JSON and an SVG plot.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ALL_LAYERS, markdownTable, type SignConfidenceReport, type TrainResult } from '@gradsign/trainer';
import { linePanelsSvg } from './charts.js';

/** The file names' stem for β1, β2: `sign-confidence-b0.9-0.999`. */
export function reportStem(beta1: number, beta2: number): string {
  return `sign-confidence-b${beta1}-${beta2}`;
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–');

/** The report as markdown: the run, a table per layer over the whole run and a table per window (all layers). */
export function reportMarkdown(report: SignConfidenceReport, result: TrainResult, command: string): string {
  const c = result.config;
  const samples = new Map(report.layers.map((l) => [l.layer, l.samples]));
  const perLayer = markdownTable(
    ['Layer', 'Sampled', 'Correlation', 'Weighted agreement'],
    report.overall.map((r) => [
      r.layer,
      String(samples.get(r.layer)),
      fmt(r.correlation),
      fmt(r.weightedAgreement),
    ]),
  );
  const layers = report.overall.map((r) => r.layer).filter((l) => l !== ALL_LAYERS);
  const windows = report.windows.filter((w) => w.layer === ALL_LAYERS);
  const perWindow = markdownTable(
    ['Steps', 'Correlation (all)', 'Weighted agreement (all)', 'Lowest correlation (layer)'],
    windows.map((w) => {
      const rows = report.windows.filter((x) => x.from === w.from && layers.includes(x.layer));
      const low = rows.reduce((a, b) => (b.correlation < a.correlation ? b : a), rows[0]!);
      return [
        `${w.from}–${w.to}`,
        fmt(w.correlation),
        fmt(w.weightedAgreement),
        low ? `${fmt(low.correlation)} (${low.layer})` : '–',
      ];
    }),
  );
  return [
    `# Sign confidence: Adam β1 = ${report.beta1}, β2 = ${report.beta2}`,
    '',
    '```sh',
    command,
    '```',
    '',
    `${c.model}, Adam lr ${c.learningRate}, ${result.steps} steps of ${c.batchSize}, seed ${c.seed}, ${result.backend}: ` +
      `test accuracy ${(result.testAccuracy * 100).toFixed(2)} % on ${result.testCount} images.`,
    `${samples.get(ALL_LAYERS)} parameters sampled (seed ${report.seed}); ε = ${report.epsilon}.`,
    '',
    'Per step and layer: the Pearson correlation of the normalised Adam update u = m̂/(√v̂+ε) with the shadow',
    'GradSign counter c/64, and the sign agreement weighted by |u| (Σ|u|·[sign u = sign c] / Σ|u|); each averaged',
    `over the steps of the run and per window of ${report.window} steps. \`all\` pools every sampled parameter.`,
    '',
    '## Over the run, per layer',
    '',
    perLayer,
    '',
    '## Over training',
    '',
    perWindow,
    '',
  ].join('\n');
}

/** Writes `<stem>.md`, `<stem>.json` and `<stem>.svg` to `dir`; returns their paths. */
export async function writeSignConfidence(
  dir: string,
  report: SignConfidenceReport,
  result: TrainResult,
  command: string,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const stem = join(dir, reportStem(report.beta1, report.beta2));
  const { losses: _losses, ...run } = result;
  const json = { command, run, report };
  const points = report.windows.flatMap((w) => [
    { x: w.to, y: w.correlation, series: w.layer, panel: 'correlation of u with c/64' },
    { x: w.to, y: w.weightedAgreement, series: w.layer, panel: 'sign agreement weighted by |u|' },
  ]);
  const svg = await linePanelsSvg({
    title: `Does GradSign's counter predict Adam's update? (β1 = ${report.beta1}, β2 = ${report.beta2})`,
    subtitle: `u = m̂/(√v̂+ε) of Adam against shadow GradSign counters, per layer (thick: all sampled parameters), mean over windows of ${report.window} steps`,
    xTitle: 'step (end of window)',
    points: points.filter((p) => Number.isFinite(p.y)),
    emphasize: ALL_LAYERS,
  });
  const files = [`${stem}.md`, `${stem}.json`, `${stem}.svg`];
  await writeFile(files[0]!, reportMarkdown(report, result, command));
  await writeFile(files[1]!, `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(files[2]!, svg);
  return files;
}
