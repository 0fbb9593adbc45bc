// The training worker: picks the backend, loads MNIST from the app's own files, and runs the trainer between
// messages so the page stays responsive. A run stops between steps and resumes exactly where it stopped.
import { type BackendSelection, selectBackend } from '@gradsign/backends';
import { type ImageSplit, loadMnist, type Mnist, makeBatch, subset } from '@gradsign/datasets/browser';
import { exactLanesForBackend, listOptimizers } from '@gradsign/optim-core';
import {
  DataParallelTrainer,
  displayName,
  listModels,
  PUBLISHED_LEARNING_RATES,
  runTrainer,
  type StepRecord,
  Trainer,
  type TrainResult,
  webWorkerChannel,
} from '@gradsign/trainer';
import * as tf from '@tensorflow/tfjs-core';
import './optimizers';
import type { BackendChoice, BackendInfo, EvalSpec, FromWorker, RunSpec, ToWorker } from './protocol';
import type { ReplicaSetupMessage } from './replica-worker';
import { resultsTables } from './results';
import { wasmPaths } from './wasm-paths';

const post = (message: FromWorker, transfer: Transferable[] = []) => self.postMessage(message, { transfer });

/** Lets queued messages (stop, predict) in between two training steps. */
const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

let mnist: Promise<Mnist> | undefined;
let nextRunId = 1;
/** The wasm kernel build asked for at init; data-parallel replicas use the same. */
let kernelBuild: 'auto' | 'portable' = 'auto';

interface QueuedRun {
  runId: number;
  spec: RunSpec;
  evalSpec: EvalSpec;
  onNonFinite: 'stop' | 'skip';
  /** Replica workers: 1 trains here; more train data-parallel. */
  threads: number;
}

interface ActiveRun extends QueuedRun {
  trainer: Trainer | DataParallelTrainer;
}

const queue: QueuedRun[] = [];
let active: ActiveRun | undefined;
/** The model predictions use: the last finished run's, or the active run's before any has finished. */
let finished: Trainer | undefined;
let controller: AbortController | undefined;
let driving = false;
const results: TrainResult[] = [];

function backendInfo(requested: BackendChoice, s: BackendSelection): BackendInfo {
  const c = s.capabilities;
  return {
    requested,
    backend: s.backend,
    simd: c.simd,
    threads: c.threads,
    webglVersion: c.webglVersion,
    webglRenderer: c.webglRenderer,
    floatPrecision: c.floatPrecision,
    int32Exact: c.int32Exact,
    int32ExactBelow: c.int32ExactBelow,
    fixes: s.fixes,
    skipped: s.attempts
      .filter((a) => !a.ok)
      .map((a) => ({ backend: a.backend, reason: a.reason ?? 'failed' })),
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    ...(s.kernels ? { kernels: s.kernels } : {}),
  };
}

async function init(requested: BackendChoice, mnistUrl: string, kernels: 'auto' | 'portable'): Promise<void> {
  kernelBuild = kernels;
  const selection = await selectBackend(requested, { wasmPaths: wasmPaths(), onLog: () => {}, kernels });
  post({
    type: 'ready',
    backend: backendInfo(requested, selection),
    optimizers: listOptimizers().map((o) => ({
      name: o.name,
      label: displayName(o.name),
      description: o.description,
      learningRate: Number(o.defaults.learningRate ?? 0.001),
      source: o.source ?? '',
    })),
    models: listModels().map((m) => ({ name: m.name, description: m.description })),
    referenceLearningRates: { ...PUBLISHED_LEARNING_RATES },
  });
  const started = performance.now();
  mnist = loadMnist({ baseUrl: mnistUrl });
  const data = await mnist;
  post({
    type: 'data',
    train: data.train.count,
    test: data.test.count,
    seconds: (performance.now() - started) / 1000,
  });
}

function evalSplit(test: ImageSplit, images: number): ImageSplit {
  return images >= test.count ? test : subset(test, Math.max(1, images));
}

/** Starts replica `index` of a data-parallel run in a Web Worker with this worker's backend and kernel build. */
function spawnReplica(index: number, count: number) {
  const worker = new Worker(new URL('./replica-worker.ts', import.meta.url), {
    type: 'module',
    name: `replica ${index + 1}/${count}`,
  });
  const setup: ReplicaSetupMessage = { setup: { backend: tf.getBackend(), kernels: kernelBuild } };
  worker.postMessage(setup);
  return webWorkerChannel(worker);
}

/** Why this page cannot train on `threads` replica workers here, or undefined when it can. */
function threadsRefusal(threads: number): string | undefined {
  if (threads === 1) return undefined;
  if (!Number.isInteger(threads) || threads < 1 || threads > 16)
    return `Threads must be a whole number from 1 to 16, not ${threads}.`;
  if (globalThis.crossOriginIsolated !== true || typeof SharedArrayBuffer !== 'function')
    return 'Training on several threads needs a cross-origin-isolated page (SharedArrayBuffer): set Threads to 1.';
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu')
    return `Training on several threads works on wasm and cpu, not ${backend}: set Threads to 1 or pick wasm.`;
  return undefined;
}

async function begin(item: QueuedRun): Promise<ActiveRun> {
  const data = await mnist!;
  const runData = { train: data.train, test: evalSplit(data.test, item.evalSpec.images) };
  const onNonFinite = { policy: item.onNonFinite };
  const trainer =
    item.threads > 1
      ? await DataParallelTrainer.create({
          config: item.spec,
          data: runData,
          workers: item.threads,
          spawn: spawnReplica,
          onNonFinite,
        })
      : Trainer.create({ config: item.spec, data: runData, onNonFinite });
  post({
    type: 'run-start',
    runId: item.runId,
    spec: item.spec,
    backend: tf.getBackend(),
    params: trainer.paramCount(),
    threads: item.threads,
  });
  return { ...item, trainer };
}

/** A model to predict with: the trainer itself, or for a data-parallel run a local copy of its weights. */
async function localTrainer(trainer: Trainer | DataParallelTrainer): Promise<Trainer> {
  if (trainer instanceof Trainer) return trainer;
  return Trainer.restore(await trainer.checkpoint(), { data: trainer.data });
}

async function onStep(run: ActiveRun, record: StepRecord, signal: AbortSignal): Promise<void> {
  post({ type: 'step', runId: run.runId, step: record.step, loss: record.loss, msPerStep: record.msPerStep });
  if (record.step === 1) {
    post({
      type: 'memory',
      runId: run.runId,
      memory: {
        stateBytes: run.trainer.stateBytes(),
        params: run.trainer.paramCount(),
        counterLanes: exactLanesForBackend(tf.getBackend()),
      },
    });
  }
  const every = run.evalSpec.every;
  if (every > 0 && record.step % every === 0 && record.step < record.steps) {
    post({ type: 'status', text: `step ${record.step}: testing…` });
    const { accuracy, loss, count } = await run.trainer.evaluate({ signal });
    post({ type: 'eval', runId: run.runId, step: record.step, accuracy, loss, images: count });
  }
  await yieldToEvents();
}

/** Runs the queue until it is empty or a stop request arrives. */
async function drive(): Promise<void> {
  if (driving) return;
  driving = true;
  const ctl = new AbortController();
  controller = ctl;
  try {
    for (;;) {
      if (active == null) {
        const item = queue.shift();
        if (item == null) break;
        active = await begin(item);
      }
      const run = active;
      let result: TrainResult | undefined;
      try {
        result = await runTrainer(run.trainer, {
          signal: ctl.signal,
          onStep: (record) => onStep(run, record, ctl.signal),
        });
      } catch (error) {
        // A stop during an evaluation aborts it; anything else is a real error.
        if (!ctl.signal.aborted) throw error;
      }
      if (result == null || result.stopped) {
        post({ type: 'stopped', runId: run.runId, step: run.trainer.step });
        return;
      }
      if (result.diverged) {
        post({
          type: 'diverged',
          runId: run.runId,
          step: result.diverged.step,
          message: result.diverged.message,
        });
        post({ type: 'run-done', runId: run.runId, result });
        results.push(result);
        post({ type: 'results', tables: resultsTables(results) });
        // Its weights are not finite: predictions keep using the last good model.
        run.trainer.dispose();
        active = undefined;
        continue;
      }
      post({
        type: 'eval',
        runId: run.runId,
        step: run.trainer.step,
        accuracy: result.testAccuracy,
        loss: result.testLoss,
        images: result.testCount,
      });
      post({ type: 'run-done', runId: run.runId, result });
      results.push(result);
      post({ type: 'results', tables: resultsTables(results) });
      const model = await localTrainer(run.trainer);
      if (model !== run.trainer) run.trainer.dispose();
      finished?.dispose();
      finished = model;
      active = undefined;
    }
    post({ type: 'done' });
  } catch (error) {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  } finally {
    driving = false;
    if (controller === ctl) controller = undefined;
  }
}

async function predict(pixels: Uint8Array): Promise<void> {
  const running = finished == null ? active?.trainer : undefined;
  const trainer = finished ?? (running ? await localTrainer(running) : undefined);
  if (trainer == null) {
    post({ type: 'error', message: 'Train a model first: the prediction uses the last trained model.' });
    return;
  }
  const split: ImageSplit = {
    name: 'drawn',
    count: 1,
    rows: 28,
    cols: 28,
    images: pixels,
    labels: new Uint8Array(1),
  };
  const { xs, ys } = makeBatch(split, Int32Array.of(0));
  const probabilities = tf.tidy(() => tf.softmax(trainer.model.forward(xs, { training: false })));
  tf.dispose([xs, ys]);
  const values = Array.from(probabilities.dataSync());
  probabilities.dispose();
  // A copy made for this prediction (a data-parallel run still training) is not kept.
  if (trainer !== finished && trainer !== running) trainer.dispose();
  post({ type: 'prediction', probabilities: values });
}

async function sample(index: number): Promise<void> {
  const { test } = await mnist!;
  const i = ((index % test.count) + test.count) % test.count;
  const size = test.rows * test.cols;
  const pixels = test.images.slice(i * size, (i + 1) * size);
  post({ type: 'sample', index: i, label: test.labels[i]!, pixels }, [pixels.buffer]);
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init':
      return init(message.backend, message.mnistUrl, message.kernels);
    case 'start': {
      if (driving) throw new Error('a run is in progress: stop it first');
      const refusal = threadsRefusal(message.threads);
      if (refusal) throw new Error(refusal);
      // A stopped run that is not resumed is dropped, with whatever was still queued behind it.
      active?.trainer.dispose();
      active = undefined;
      queue.length = 0;
      for (const spec of message.runs) {
        queue.push({
          runId: nextRunId++,
          spec,
          evalSpec: message.eval,
          onNonFinite: message.onNonFinite,
          threads: message.threads,
        });
      }
      return drive();
    }
    case 'stop':
      controller?.abort();
      return;
    case 'resume':
      return drive();
    case 'predict':
      return predict(message.pixels);
    case 'sample':
      return sample(message.index);
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch((error: unknown) =>
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
};
