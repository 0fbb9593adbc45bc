// The two live charts: training loss per step and test accuracy, one line per run.
import { RunChart } from '../ui/chart';
import type { PageRun } from './state';

/**
 * Okabe–Ito hues (told apart with colour-blindness), darkened where needed so that every line has at least 3:1
 * contrast against the white chart background.
 */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#B4579A', '#8A6D00', '#5B3C88', '#000000'];
/** Runs of the same optimizer share its colour and differ in dashes. */
const DASHES = [undefined, [6, 3], [2, 3], [8, 3, 2, 3]];

const $ = (id: string) => document.getElementById(id)!;

export class RunCharts {
  private readonly colorOf = new Map<string, string>();
  readonly loss: RunChart;
  readonly accuracy: RunChart;

  /** `maxSteps`: the longest run's steps, the accuracy chart's x span. */
  constructor(maxSteps: () => number) {
    const smoothInput = $('smooth') as HTMLInputElement;
    this.loss = new RunChart($('loss-chart'), {
      title: 'Training loss per step',
      yLabel: 'loss',
      log: true,
      smoothing: () => (smoothInput.checked ? 0.9 : 0),
      format: (v) => (v >= 1 ? v.toFixed(2) : v.toPrecision(2)),
    });
    this.accuracy = new RunChart($('accuracy-chart'), {
      title: 'Test accuracy',
      yLabel: 'accuracy',
      points: true,
      xSpan: maxSteps,
      // From a tenth below the lowest value (at least 0) up to 100 %.
      yRange: (min) => [Math.max(0, Math.floor((min - 0.05) * 10) / 10), 1],
      format: (v) => `${(v * 100).toFixed(v >= 0.995 ? 2 : 1)}%`,
    });
    smoothInput.addEventListener('change', () => this.loss.refresh());
    $('clear-charts').addEventListener('click', () => {
      this.loss.clear();
      this.accuracy.clear();
    });
  }

  private color(optimizer: string): string {
    if (!this.colorOf.has(optimizer))
      this.colorOf.set(optimizer, PALETTE[this.colorOf.size % PALETTE.length]!);
    return this.colorOf.get(optimizer)!;
  }

  /** A line on both charts for `run`, the `nth` run of its optimizer (from 1). */
  addRun(run: PageRun, nth: number): void {
    const style = {
      label: run.label,
      color: this.color(run.spec.optimizer),
      dash: DASHES[(nth - 1) % DASHES.length]!,
    };
    this.loss.addLine(run.runId, style);
    this.accuracy.addLine(run.runId, style);
  }
}
