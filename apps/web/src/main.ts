import type { TrainResult } from '@gradsign/trainer';
import { describeMemory } from './memory';
import type {
  BackendChoice,
  BackendInfo,
  FromWorker,
  MemoryInfo,
  OptimizerInfo,
  ResultsTable,
  RunSnapshot,
  RunSpec,
  ToWorker,
} from './protocol';
import { RunChart } from './ui/chart';
import { DigitPad } from './ui/digit-pad';
import { makeTable } from './ui/table';
import './style.css';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const form = $<HTMLFormElement>('form');
const backendSelect = $<HTMLSelectElement>('backend');
const modelSelect = $<HTMLSelectElement>('model');
const optimizerSelect = $<HTMLSelectElement>('optimizer');
const nonFiniteSelect = $<HTMLSelectElement>('on-nonfinite');
const inputs = {
  lr: $<HTMLInputElement>('lr'),
  steps: $<HTMLInputElement>('steps'),
  batch: $<HTMLInputElement>('batch'),
  seed: $<HTMLInputElement>('seed'),
  evalEvery: $<HTMLInputElement>('eval-every'),
  evalImages: $<HTMLInputElement>('eval-images'),
  seeds: $<HTMLInputElement>('seeds'),
};
const buttons = {
  start: $<HTMLButtonElement>('start'),
  stop: $<HTMLButtonElement>('stop'),
  resume: $<HTMLButtonElement>('resume'),
  compare: $<HTMLButtonElement>('compare'),
  sample: $<HTMLButtonElement>('sample-digit'),
};
const statusEl = $('status');
const statusDetail = $('status-detail');
const errorEl = $('error');
const readout = {
  run: $('r-run'),
  step: $('r-step'),
  loss: $('r-loss'),
  speed: $('r-speed'),
  accuracy: $('r-accuracy'),
  state: $('r-state'),
  stateNote: $('state-note'),
};

/**
 * Okabe–Ito hues (told apart with colour-blindness), darkened where needed so that every line has at least 3:1
 * contrast against the white chart background.
 */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#B4579A', '#8A6D00', '#5B3C88', '#000000'];
const colorOf = new Map<string, string>();
const color = (optimizer: string) => {
  if (!colorOf.has(optimizer)) colorOf.set(optimizer, PALETTE[colorOf.size % PALETTE.length]!);
  return colorOf.get(optimizer)!;
};
const DASHES = [undefined, [6, 3], [2, 3], [8, 3, 2, 3]];

interface RunView {
  runId: number;
  spec: RunSpec;
  backend: string;
  params: number;
  label: string;
  losses: number[];
  msPerStep: number[];
  evals: { step: number; accuracy: number; loss: number; images: number }[];
  memory?: MemoryInfo;
  result?: TrainResult;
  diverged?: { step: number; message: string };
}

const runs = new Map<number, RunView>();
/** The runs of the last Start or Compare, to tell at the end whether any diverged. */
let batch: RunView[] = [];

const percent = (v: number) => `${(v * 100).toFixed(1)} %`;
const smoothInput = $<HTMLInputElement>('smooth');
const lossChart = new RunChart($('loss-chart'), {
  title: 'Training loss per step',
  yLabel: 'loss',
  log: true,
  smoothing: () => (smoothInput.checked ? 0.9 : 0),
  format: (v) => (v >= 1 ? v.toFixed(2) : v.toPrecision(2)),
});
const accuracyChart = new RunChart($('accuracy-chart'), {
  title: 'Test accuracy',
  yLabel: 'accuracy',
  points: true,
  xSpan: () => Math.max(0, ...[...runs.values()].map((r) => r.spec.steps)),
  // From a tenth below the lowest value (at least 0) up to 100 %.
  yRange: (min) => [Math.max(0, Math.floor((min - 0.05) * 10) / 10), 1],
  format: (v) => `${(v * 100).toFixed(v >= 0.995 ? 2 : 1)}%`,
});
smoothInput.addEventListener('change', () => lossChart.refresh());
$('clear-charts').addEventListener('click', () => {
  lossChart.clear();
  accuracyChart.clear();
});

let worker: Worker | undefined;
let backendInfo: BackendInfo | undefined;
let optimizers: OptimizerInfo[] = [];
let referenceLearningRates: Record<string, number> = {};
const displayName = (name: string) => optimizers.find((o) => o.name === name)?.label ?? name;
let phase: 'starting' | 'loading' | 'ready' | 'running' | 'stopped' = 'starting';
let current: RunView | undefined;

function setStatus(text: string, detail = ''): void {
  statusEl.textContent = text;
  statusDetail.textContent = detail;
}

function showError(message: string | undefined): void {
  errorEl.hidden = message == null;
  errorEl.textContent = message ?? '';
}

function updateButtons(): void {
  const ready = phase === 'ready' || phase === 'stopped';
  buttons.start.disabled = !ready;
  buttons.compare.disabled = !ready;
  buttons.stop.disabled = phase !== 'running';
  buttons.resume.disabled = phase !== 'stopped';
  backendSelect.disabled = phase === 'running';
  buttons.sample.disabled = phase === 'starting' || phase === 'loading';
}

function send(message: ToWorker): void {
  worker?.postMessage(message);
}

/** A new worker per backend choice: a backend is picked once per worker, and its memory goes with it. */
function startWorker(choice: BackendChoice): void {
  worker?.terminate();
  phase = 'starting';
  current = undefined;
  updateButtons();
  setStatus('starting', `Starting the ${choice === 'auto' ? 'best available' : choice} backend…`);
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'gradsign-trainer' });
  worker.onmessage = (event: MessageEvent<FromWorker>) => onMessage(event.data);
  worker.onerror = (event) => {
    showError(`The training worker failed: ${event.message}`);
    setStatus('error');
  };
  send({ type: 'init', backend: choice, mnistUrl: new URL('mnist', document.baseURI).href });
}

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

function fillSelect(select: HTMLSelectElement, items: { value: string; text: string }[]): void {
  const previous = select.value;
  select.replaceChildren(...items.map((i) => new Option(i.text, i.value)));
  if (items.some((i) => i.value === previous)) select.value = previous;
}

function defaultLearningRate(name: string): number {
  return referenceLearningRates[name] ?? optimizers.find((o) => o.name === name)?.learningRate ?? 0.001;
}

function describeOptimizer(): void {
  const o = optimizers.find((x) => x.name === optimizerSelect.value);
  $('optimizer-info').textContent = o
    ? `${o.description}${o.source && o.source !== '@gradsign/optim-core' ? ` (from ${o.source})` : ''}`
    : '';
}

optimizerSelect.addEventListener('change', () => {
  inputs.lr.value = String(defaultLearningRate(optimizerSelect.value));
  describeOptimizer();
});
backendSelect.addEventListener('change', () => startWorker(backendSelect.value as BackendChoice));

function integer(input: HTMLInputElement): number {
  return Number.parseInt(input.value, 10);
}

/** Validates the form with the browser's own messages; returns the run settings or undefined. */
function readSpec(): RunSpec | undefined {
  showError(undefined);
  for (const input of Object.values(inputs)) {
    input.setCustomValidity('');
    if (input.type === 'number' && input.value !== '' && input.step === '1' && !/^-?\d+$/.test(input.value)) {
      input.setCustomValidity('Enter a whole number.');
    }
  }
  if (!(Number(inputs.lr.value) > 0)) inputs.lr.setCustomValidity('Enter a learning rate above 0.');
  if (!form.reportValidity()) return undefined;
  return {
    model: modelSelect.value,
    optimizer: optimizerSelect.value,
    learningRate: Number(inputs.lr.value),
    steps: integer(inputs.steps),
    batchSize: integer(inputs.batch),
    seed: integer(inputs.seed),
  };
}

function evalSpec() {
  return { every: integer(inputs.evalEvery), images: integer(inputs.evalImages) };
}

function start(specs: RunSpec[]): void {
  phase = 'running';
  updateButtons();
  setStatus('training', `${specs.length} run${specs.length === 1 ? '' : 's'} queued`);
  batch = [];
  send({
    type: 'start',
    runs: specs,
    eval: evalSpec(),
    onNonFinite: nonFiniteSelect.value === 'skip' ? 'skip' : 'stop',
  });
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const spec = readSpec();
  if (spec) start([spec]);
});

buttons.compare.addEventListener('click', () => {
  const base = readSpec();
  if (!base) return;
  const specs: RunSpec[] = [];
  for (let k = 0; k < integer(inputs.seeds); k++) {
    for (const [optimizer, learningRate] of Object.entries(referenceLearningRates)) {
      specs.push({ ...base, optimizer, learningRate, seed: base.seed + k });
    }
  }
  start(specs);
});

buttons.stop.addEventListener('click', () => {
  buttons.stop.disabled = true;
  setStatus('stopping', 'The run stops after the current step.');
  send({ type: 'stop' });
});

buttons.resume.addEventListener('click', () => {
  phase = 'running';
  updateButtons();
  setStatus('training', 'Resumed.');
  send({ type: 'resume' });
});

// Readouts are refreshed at most once per frame, however fast steps arrive.
let readoutPending = false;
function scheduleReadouts(): void {
  if (readoutPending) return;
  readoutPending = true;
  requestAnimationFrame(() => {
    readoutPending = false;
    renderReadouts();
  });
}

function renderReadouts(): void {
  const run = current;
  if (!run) return;
  const step = run.losses.length;
  readout.run.textContent = `${run.label} on ${run.backend}`;
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
  if (phase === 'running') setStatus('training', `${run.label}: step ${step} of ${run.spec.steps}`);
}

function runLabel(spec: RunSpec): string {
  return `${displayName(spec.optimizer)} ${spec.learningRate} s${spec.seed}`;
}

function onMessage(message: FromWorker): void {
  switch (message.type) {
    case 'status':
      statusDetail.textContent = message.text;
      break;
    case 'ready': {
      backendInfo = message.backend;
      optimizers = message.optimizers;
      referenceLearningRates = message.referenceLearningRates;
      $('backend-info').textContent = describeBackend(message.backend);
      fillSelect(
        modelSelect,
        message.models.map((m) => ({ value: m.name, text: m.name })),
      );
      modelSelect.title = message.models.find((m) => m.name === modelSelect.value)?.description ?? '';
      const before = optimizerSelect.value;
      fillSelect(
        optimizerSelect,
        optimizers.map((o) => ({ value: o.name, text: o.label })),
      );
      if (!before) {
        optimizerSelect.value = 'gradsign';
        inputs.lr.value = String(defaultLearningRate('gradsign'));
      }
      describeOptimizer();
      phase = 'loading';
      updateButtons();
      setStatus('loading', `Loading MNIST on ${message.backend.backend}…`);
      break;
    }
    case 'data':
      phase = 'ready';
      updateButtons();
      setStatus(
        'ready',
        `MNIST loaded: ${message.train.toLocaleString('en-US')} training and ${message.test.toLocaleString('en-US')} test images in ${message.seconds.toFixed(1)} s.`,
      );
      break;
    case 'run-start': {
      const run: RunView = {
        runId: message.runId,
        spec: message.spec,
        backend: message.backend,
        params: message.params,
        label: runLabel(message.spec),
        losses: [],
        msPerStep: [],
        evals: [],
      };
      runs.set(run.runId, run);
      batch.push(run);
      current = run;
      const sameOptimizer = [...runs.values()].filter((r) => r.spec.optimizer === run.spec.optimizer).length;
      const style = {
        label: run.label,
        color: color(run.spec.optimizer),
        dash: DASHES[(sameOptimizer - 1) % DASHES.length]!,
      };
      lossChart.addLine(run.runId, style);
      accuracyChart.addLine(run.runId, style);
      readout.state.textContent = '–';
      readout.stateNote.textContent = '';
      scheduleReadouts();
      break;
    }
    case 'step': {
      const run = runs.get(message.runId)!;
      run.losses.push(message.loss);
      run.msPerStep.push(message.msPerStep);
      // A skipped step's NaN loss has no place on the (log-scale) chart.
      if (Number.isFinite(message.loss)) lossChart.push(run.runId, message.step, message.loss);
      scheduleReadouts();
      break;
    }
    case 'memory':
      runs.get(message.runId)!.memory = message.memory;
      scheduleReadouts();
      break;
    case 'eval': {
      const run = runs.get(message.runId)!;
      run.evals.push({
        step: message.step,
        accuracy: message.accuracy,
        loss: message.loss,
        images: message.images,
      });
      accuracyChart.push(run.runId, message.step, message.accuracy);
      scheduleReadouts();
      break;
    }
    case 'run-done':
      runs.get(message.runId)!.result = message.result;
      break;
    case 'diverged':
      runs.get(message.runId)!.diverged = { step: message.step, message: message.message };
      break;
    case 'results':
      renderResults(message.tables);
      break;
    case 'stopped':
      phase = 'stopped';
      updateButtons();
      setStatus(
        'stopped',
        `Stopped after step ${message.step}. Resume continues exactly there; Start begins anew.`,
      );
      break;
    case 'done': {
      phase = 'ready';
      updateButtons();
      renderReadouts();
      const diverged = batch.filter((r) => r.diverged);
      if (diverged.length === 0) {
        setStatus('done', current ? `Finished ${current.label}.` : '');
      } else {
        // A diverged run is not a result: the status says so rather than 'done'.
        setStatus(
          batch.length === 1
            ? `diverged at step ${diverged[0]!.diverged!.step}`
            : `${diverged.length} of ${batch.length} runs diverged`,
          `${diverged.map((r) => `${r.label}: ${r.diverged!.message}`).join('; ')}. Lower the learning rate.`,
        );
      }
      break;
    }
    case 'prediction':
      renderPrediction(message.probabilities);
      break;
    case 'sample':
      pad.show(message.pixels);
      $('sample-label').textContent = `MNIST test image ${message.index}, labelled ${message.label}.`;
      predict(message.pixels);
      break;
    case 'error':
      showError(message.message);
      // The worker keeps a run that failed: Resume retries it, Start begins anew.
      if (phase === 'running') {
        phase = 'stopped';
        updateButtons();
      }
      if (phase !== 'ready') setStatus('error');
      break;
  }
}

/** The results tables in the write-up's form (optimizer, best learning rate, accuracy mean ± sd), per protocol. */
function renderResults(tables: ResultsTable[]): void {
  $('results').replaceChildren(
    ...tables.map(({ protocol, rows }) =>
      makeTable(
        protocol,
        ['Optimizer', 'Best LR', 'Accuracy (mean ± sd)', 'Seeds', 'B/param'],
        rows.map((r) => [
          r.optimizer,
          String(r.bestLearningRate),
          r.accuracy,
          r.seeds.join(', '),
          r.bytesPerParam.toFixed(2),
        ]),
        { rowHeaders: true },
      ),
    ),
  );
}

const pad = new DigitPad(
  $<HTMLCanvasElement>('digit-canvas'),
  $<HTMLCanvasElement>('digit-preview'),
  (pixels) => predict(pixels),
);
$('clear-digit').addEventListener('click', () => {
  pad.clear();
  $('prediction').textContent = '–';
  $('probabilities').replaceChildren();
  $('sample-label').textContent = '';
});
buttons.sample.addEventListener('click', () =>
  send({ type: 'sample', index: Math.floor(Math.random() * 10000) }),
);

function predict(pixels: Uint8Array): void {
  if (current == null) {
    $('prediction').textContent = 'train a model first';
    return;
  }
  send({ type: 'predict', pixels });
}

function renderPrediction(probabilities: number[]): void {
  let best = 0;
  for (let k = 1; k < probabilities.length; k++) if (probabilities[k]! > probabilities[best]!) best = k;
  $('prediction').textContent = `${best} (${percent(probabilities[best]!)})`;
  $('probabilities').replaceChildren(
    ...probabilities.map((p, k) => {
      const li = document.createElement('li');
      li.className = k === best ? 'best' : '';
      li.innerHTML = `<span class="digit">${k}</span><span class="bar"><span style="width:${(p * 100).toFixed(1)}%"></span></span><span class="p">${percent(p)}</span>`;
      return li;
    }),
  );
}

/**
 * A read-only view for tests and the curious: every run's settings, losses, evaluations and state bytes, and
 * the backend in use.
 */
Object.defineProperty(window, 'gradsign', {
  value: Object.freeze({
    backend: () => backendInfo,
    runs: (): RunSnapshot[] =>
      [...runs.values()].map((r) => ({
        runId: r.runId,
        spec: r.spec,
        backend: r.backend,
        params: r.params,
        losses: [...r.losses],
        evals: r.evals.map((e) => ({ ...e })),
        memory: r.memory ? { ...r.memory } : undefined,
        result: r.result,
        diverged: r.diverged ? { ...r.diverged } : undefined,
      })),
  }),
});

updateButtons();
startWorker(backendSelect.value as BackendChoice);
