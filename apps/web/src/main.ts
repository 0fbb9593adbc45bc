// The page: puts the state, the view and the training worker together, and turns clicks into messages.

import { RunCharts } from './page/charts';
import { DigitPanel } from './page/digit-panel';
import { ExperimentForm } from './page/form';
import { handleMessage, type Page } from './page/messages';
import { PageState } from './page/state';
import { PageView } from './page/view';
import type { BackendChoice, FromWorker, RunSnapshot, RunSpec, ToWorker } from './protocol';
import './style.css';

const state = new PageState();
const form = new ExperimentForm(state);
const view = new PageView(state, form.backend);
const charts = new RunCharts(() => state.maxSteps());
let worker: Worker | undefined;

function send(message: ToWorker): void {
  worker?.postMessage(message);
}

const digits = new DigitPanel(
  (pixels) => {
    if (state.current == null) return false;
    send({ type: 'predict', pixels });
    return true;
  },
  (index) => send({ type: 'sample', index }),
);
const page: Page = { state, view, form, charts, digits };

/**
 * The wasm SIMD kernels' build from the page's address: `?kernels=portable` forces the portable build (runs that
 * must match other machines bit for bit); without it, FMA where the browser has relaxed SIMD.
 */
function kernelsFromAddress(): 'auto' | 'portable' | undefined {
  const value = new URLSearchParams(location.search).get('kernels') ?? 'auto';
  if (value === 'auto' || value === 'portable') return value;
  view.showError(`The address asks for kernels=${value}: use kernels=portable or kernels=auto.`);
  view.setStatus('error');
  return undefined;
}

/** A new worker per backend choice: a backend is picked once per worker, and its memory goes with it. */
function startWorker(choice: BackendChoice): void {
  const kernels = kernelsFromAddress();
  if (kernels === undefined) return;
  worker?.terminate();
  state.phase = 'starting';
  state.current = undefined;
  view.updateButtons();
  view.setStatus('starting', `Starting the ${choice === 'auto' ? 'best available' : choice} backend…`);
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'gradsign-trainer' });
  worker.onmessage = (event: MessageEvent<FromWorker>) => handleMessage(page, event.data);
  worker.onerror = (event) => {
    view.showError(`The training worker failed: ${event.message}`);
    view.setStatus('error');
  };
  send({ type: 'init', backend: choice, mnistUrl: new URL('mnist', document.baseURI).href, kernels });
}

/** The form's settings, checked; undefined (and the browser shows why) when they are not valid. */
function readSpec(): RunSpec | undefined {
  view.showError(undefined);
  return form.readSpec();
}

function start(specs: RunSpec[]): void {
  state.phase = 'running';
  view.updateButtons();
  view.setStatus('training', `${specs.length} run${specs.length === 1 ? '' : 's'} queued`);
  state.batch = [];
  send({
    type: 'start',
    runs: specs,
    eval: form.evalSpec,
    onNonFinite: form.onNonFinite,
    threads: form.threads,
  });
}

form.backend.addEventListener('change', () => startWorker(form.backendChoice));

form.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const spec = readSpec();
  if (spec) start([spec]);
});

view.buttons.compare.addEventListener('click', () => {
  const base = readSpec();
  if (!base) return;
  const specs: RunSpec[] = [];
  for (let k = 0; k < form.seeds; k++) {
    for (const [optimizer, learningRate] of Object.entries(state.referenceLearningRates)) {
      specs.push({ ...base, optimizer, learningRate, seed: base.seed + k });
    }
  }
  start(specs);
});

view.buttons.sweep.addEventListener('click', () => {
  const base = readSpec();
  const grid = base && form.readSweep();
  if (!base || !grid) return;
  const specs: RunSpec[] = [];
  for (const optimizer of grid.optimizers) {
    for (const learningRate of grid.learningRates) {
      for (let k = 0; k < form.seeds; k++)
        specs.push({ ...base, optimizer, learningRate, seed: base.seed + k });
    }
  }
  start(specs);
});

view.buttons.stop.addEventListener('click', () => {
  view.buttons.stop.disabled = true;
  view.setStatus('stopping', 'The run stops after the current step.');
  send({ type: 'stop' });
});

view.buttons.resume.addEventListener('click', () => {
  state.phase = 'running';
  view.updateButtons();
  view.setStatus('training', 'Resumed.');
  send({ type: 'resume' });
});

/**
 * A read-only view for tests and the curious: every run's settings, losses, evaluations and state bytes, and
 * the backend in use.
 */
Object.defineProperty(window, 'gradsign', {
  value: Object.freeze({
    backend: () => state.backend,
    runs: (): RunSnapshot[] => state.snapshots(),
  }),
});

view.updateButtons();
startWorker(form.backendChoice);
