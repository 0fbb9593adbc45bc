// What the page does with each message of the training worker: update the state, then the view.
import type { FromWorker } from '../protocol';
import type { RunCharts } from './charts';
import type { DigitPanel } from './digit-panel';
import type { ExperimentForm } from './form';
import type { PageState } from './state';
import type { PageView } from './view';

/** The parts of the page that the worker's messages reach. */
export interface Page {
  readonly state: PageState;
  readonly view: PageView;
  readonly form: ExperimentForm;
  readonly charts: RunCharts;
  readonly digits: DigitPanel;
}

type Handlers = {
  [K in FromWorker['type']]: (page: Page, message: Extract<FromWorker, { type: K }>) => void;
};

const handlers: Handlers = {
  status: ({ view }, message) => view.setStatusDetail(message.text),

  ready: ({ state, view, form }, message) => {
    state.backend = message.backend;
    state.optimizers = message.optimizers;
    state.referenceLearningRates = message.referenceLearningRates;
    view.showBackend(message.backend);
    form.offer(message.models, message.optimizers);
    state.phase = 'loading';
    view.updateButtons();
    view.setStatus('loading', `Loading MNIST on ${message.backend.backend}…`);
  },

  data: ({ state, view }, message) => {
    state.phase = 'ready';
    view.updateButtons();
    view.setStatus(
      'ready',
      `MNIST loaded: ${message.train.toLocaleString('en-US')} training and ${message.test.toLocaleString('en-US')} test images in ${message.seconds.toFixed(1)} s.`,
    );
  },

  'run-start': ({ state, view, charts }, message) => {
    const run = state.startRun(message.runId, message.spec, message.backend, message.params, message.threads);
    charts.addRun(run, state.runsOf(run.spec.optimizer));
    view.clearStateReadout();
    view.scheduleReadouts();
  },

  step: ({ state, view, charts }, message) => {
    const run = state.run(message.runId);
    run.losses.push(message.loss);
    run.msPerStep.push(message.msPerStep);
    // A skipped step's NaN loss has no place on the (log-scale) chart.
    if (Number.isFinite(message.loss)) charts.loss.push(run.runId, message.step, message.loss);
    view.scheduleReadouts();
  },

  memory: ({ state, view }, message) => {
    state.run(message.runId).memory = message.memory;
    view.scheduleReadouts();
  },

  eval: ({ state, view, charts }, message) => {
    const { runId, step, accuracy, loss, images } = message;
    state.run(runId).evals.push({ step, accuracy, loss, images });
    charts.accuracy.push(runId, step, accuracy);
    view.scheduleReadouts();
  },

  'run-done': ({ state }, message) => {
    state.run(message.runId).result = message.result;
  },

  diverged: ({ state }, message) => {
    state.run(message.runId).diverged = { step: message.step, message: message.message };
  },

  results: ({ view }, message) => view.renderResults(message.tables),

  stopped: ({ state, view }, message) => {
    state.phase = 'stopped';
    view.updateButtons();
    view.setStatus(
      'stopped',
      `Stopped after step ${message.step}. Resume continues exactly there; Start begins anew.`,
    );
  },

  done: ({ state, view }) => {
    state.phase = 'ready';
    view.updateButtons();
    view.renderReadouts();
    const { batch, current } = state;
    const diverged = batch.filter((r) => r.diverged);
    if (diverged.length === 0) {
      view.setStatus('done', current ? `Finished ${current.label}.` : '');
      return;
    }
    // A diverged run is not a result: the status says so rather than 'done'.
    view.setStatus(
      batch.length === 1
        ? `diverged at step ${diverged[0]!.diverged!.step}`
        : `${diverged.length} of ${batch.length} runs diverged`,
      `${diverged.map((r) => `${r.label}: ${r.diverged!.message}`).join('; ')}. Lower the learning rate.`,
    );
  },

  prediction: ({ digits }, message) => digits.showPrediction(message.probabilities),

  sample: ({ digits }, message) => digits.showSample(message.index, message.label, message.pixels),

  error: ({ state, view }, message) => {
    view.showError(message.message);
    // The worker keeps a run that failed: Resume retries it, Start begins anew.
    if (state.phase === 'running') {
      state.phase = 'stopped';
      view.updateButtons();
    }
    if (state.phase !== 'ready') view.setStatus('error');
  },
};

export function handleMessage(page: Page, message: FromWorker): void {
  (handlers[message.type] as (page: Page, message: FromWorker) => void)(page, message);
}
