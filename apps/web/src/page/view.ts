// The page's status line, error box, buttons, backend line, readouts of the current run and results tables.
import { describeMemory } from '../memory';
import type { BackendInfo, ResultsTable } from '../protocol';
import { makeTable } from '../ui/table';
import { hasCurves, lrCurvesChart } from './lr-curves';
import type { PageState, Phase } from './state';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export const percent = (v: number) => `${(v * 100).toFixed(1)} %`;

function describeBackend(b: BackendInfo): string {
  const parts = [`Using ${b.backend}${b.requested === 'auto' ? ' (chosen by auto)' : ''}`];
  if (b.webglVersion != null) parts.push(`WebGL ${b.webglVersion}`);
  if (b.webglRenderer) parts.push(b.webglRenderer);
  if (b.simd != null) parts.push(b.simd ? 'SIMD' : 'no SIMD');
  if (b.threads != null) parts.push(`${b.threads} thread${b.threads === 1 ? '' : 's'}`);
  parts.push(`float${b.floatPrecision}`);
  parts.push(b.int32Exact ? 'int32 exact' : `int32 exact below 2^${Math.log2(b.int32ExactBelow)}`);
  if (b.fixes.length > 0) parts.push(`training fixes: ${b.fixes.join(', ')}`);
  parts.push(b.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated');
  let text = parts.join(' · ');
  for (const s of b.skipped) text += `. ${s.backend} not used: ${s.reason}`;
  return text;
}

export class PageView {
  readonly buttons = {
    start: $<HTMLButtonElement>('start'),
    stop: $<HTMLButtonElement>('stop'),
    resume: $<HTMLButtonElement>('resume'),
    compare: $<HTMLButtonElement>('compare'),
    sweep: $<HTMLButtonElement>('sweep'),
    sample: $<HTMLButtonElement>('sample-digit'),
  };
  private readonly status = $('status');
  private readonly statusDetail = $('status-detail');
  private readonly error = $('error');
  private readonly readout = {
    run: $('r-run'),
    step: $('r-step'),
    loss: $('r-loss'),
    speed: $('r-speed'),
    accuracy: $('r-accuracy'),
    state: $('r-state'),
    stateNote: $('state-note'),
  };
  private readoutPending = false;
  private curveCharts: { destroy(): void }[] = [];

  constructor(
    private readonly state: PageState,
    private readonly backendSelect: HTMLSelectElement,
  ) {}

  setStatus(text: string, detail = ''): void {
    this.status.textContent = text;
    this.statusDetail.textContent = detail;
  }

  /** The detail line alone (the worker's progress while it starts). */
  setStatusDetail(detail: string): void {
    this.statusDetail.textContent = detail;
  }

  showError(message: string | undefined): void {
    this.error.hidden = message == null;
    this.error.textContent = message ?? '';
  }

  /** Enables what the phase allows. */
  updateButtons(): void {
    const phase: Phase = this.state.phase;
    const ready = phase === 'ready' || phase === 'stopped';
    this.buttons.start.disabled = !ready;
    this.buttons.compare.disabled = !ready;
    this.buttons.sweep.disabled = !ready;
    this.buttons.stop.disabled = phase !== 'running';
    this.buttons.resume.disabled = phase !== 'stopped';
    this.backendSelect.disabled = phase === 'running';
    this.buttons.sample.disabled = phase === 'starting' || phase === 'loading';
  }

  showBackend(backend: BackendInfo): void {
    $('backend-info').textContent = describeBackend(backend);
  }

  /** A new run has no state bytes yet. */
  clearStateReadout(): void {
    this.readout.state.textContent = '–';
    this.readout.stateNote.textContent = '';
  }

  /** Readouts are refreshed at most once per frame, however fast steps arrive. */
  scheduleReadouts(): void {
    if (this.readoutPending) return;
    this.readoutPending = true;
    requestAnimationFrame(() => {
      this.readoutPending = false;
      this.renderReadouts();
    });
  }

  renderReadouts(): void {
    const run = this.state.current;
    if (!run) return;
    const readout = this.readout;
    const step = run.losses.length;
    readout.run.textContent = `${run.label} on ${run.backend}${run.threads > 1 ? `, ${run.threads} threads` : ''}`;
    readout.step.textContent = `${step} / ${run.spec.steps}`;
    readout.loss.textContent = step > 0 ? run.losses[step - 1]!.toFixed(4) : '–';
    const recent = run.msPerStep.slice(-20);
    const ms = recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length);
    readout.speed.textContent =
      recent.length > 0 ? `${(1000 / ms).toFixed(2)} steps/s (${ms.toFixed(0)} ms/step)` : '–';
    const last = run.evals.at(-1);
    readout.accuracy.textContent = last
      ? `${percent(last.accuracy)} at step ${last.step} (${last.images.toLocaleString('en-US')} images)`
      : '–';
    if (run.memory) {
      const { value, note } = describeMemory(run.spec.optimizer, run.backend, run.memory);
      readout.state.textContent = value;
      readout.stateNote.textContent = note;
    }
    if (this.state.phase === 'running') {
      this.setStatus('training', `${run.label}: step ${step} of ${run.spec.steps}`);
    }
  }

  /**
   * The results tables in the write-up's form (optimizer, best learning rate, accuracy mean ± sd), per protocol;
   * where several rates ran, the learning-rate curves and the flat range; where several optimizers ran on the same
   * seeds, their paired differences.
   */
  renderResults(tables: ResultsTable[]): void {
    for (const chart of this.curveCharts) chart.destroy();
    this.curveCharts = [];
    const results = $('results');
    const width = Math.max(240, results.clientWidth);
    results.replaceChildren(
      ...tables.flatMap(({ protocol, rows, curves, paired, pairedHeader }) => {
        const sweep = hasCurves(curves);
        const parts: HTMLElement[] = [
          makeTable(
            protocol,
            [
              'Optimizer',
              'Best LR',
              'Accuracy (mean ± sd)',
              'Seeds',
              'B/param',
              ...(sweep ? ['Flat range (within 0.5 pp)', 'Rates'] : []),
            ],
            rows.map((r) => [
              r.optimizer,
              String(r.bestLearningRate),
              r.accuracy,
              r.seeds.join(', '),
              r.bytesPerParam.toFixed(2),
              ...(sweep ? [r.flatRange, String(r.rates)] : []),
            ]),
            { rowHeaders: true },
          ),
        ];
        if (paired.length > 0) {
          const table = makeTable(
            `Paired by seed, each at its best rate (${protocol})`,
            pairedHeader,
            paired.map((p) => [p.pair, p.learningRates, p.difference, p.interval, String(p.n), p.resolved]),
            { rowHeaders: true },
          );
          table.dataset.testid = 'paired';
          parts.push(table);
        }
        if (sweep) {
          const chart = lrCurvesChart(curves, width);
          this.curveCharts.push(chart);
          parts.push(chart.element);
        }
        return parts;
      }),
    );
  }
}
