import { hostname } from 'node:os';
import { median, runTrainer, type StepRecord, type TrainResult } from '@gradsign/trainer';
import {
  type ConnectionOptions,
  DelayedError,
  type Job,
  UnrecoverableError,
  WaitingError,
  Worker,
} from 'bullmq';
import { connectionError, openRedis } from './connection.js';
import { RunElsewhereError, SweepQueueError } from './errors.js';
import { defaultHooks, type QueueTrainer, type RunHooks } from './hooks.js';
import { type RunPayload, runId, validateRunPayload } from './payload.js';
import { checkPrefix, DEFAULT_PREFIX, QUEUE_NAME } from './queue.js';
import { type StoredResult, SweepStore } from './store.js';
import { type ConnectionTuning, parseRedisUrl, redact, redisOptions } from './url.js';

export type { QueueTrainer, RunHooks };

/** What a worker reports, one event per line in the CLI. */
export type WorkerEvent =
  | { type: 'started'; runId: string; payload: RunPayload; resumedAt?: number }
  | { type: 'finished'; runId: string; payload: RunPayload; result: StoredResult; recorded: boolean }
  | { type: 'requeued'; runId: string; payload: RunPayload; step: number }
  | { type: 'failed'; runId: string; error: string; final: boolean };

/** Options of {@link startSweepWorker}: the queue's location, runs at once, when to stop, hooks, events. */
export interface SweepWorkerOptions extends ConnectionTuning {
  /** Redis URL (default: `GRADSIGN_REDIS_URL`). */
  readonly url?: string;
  readonly prefix?: string;
  /** Runs at once (default 1). */
  readonly concurrency?: number;
  /** Stop after this many runs (finished or failed). */
  readonly maxRuns?: number;
  /** Stop after this many seconds without a run. */
  readonly idleExitSeconds?: number;
  /** BullMQ's job lock (default 30 000 ms): a killed worker's run goes back to the queue after about this long. */
  readonly lockDurationMs?: number;
  /** How often stalled runs are looked for (default 30 000 ms). */
  readonly stalledIntervalMs?: number;
  /** How many times a run may be recovered from a stalled worker before it is failed (default 5). */
  readonly maxStalledCount?: number;
  readonly hooks?: Partial<RunHooks>;
  /** Called for every {@link WorkerEvent}: a run started, finished, went back to the queue or failed. */
  readonly onEvent?: (event: WorkerEvent) => void;
}

/** A running worker, as {@link startSweepWorker} returns it. */
export interface SweepWorker {
  /** Stops taking runs; the current ones checkpoint and go back to the queue. */
  close(): Promise<void>;
  /** Resolves when the worker has stopped: 'closed', 'max-runs', 'idle'; rejects when Redis is lost. */
  readonly stopped: Promise<'closed' | 'max-runs' | 'idle'>;
  readonly id: string;
  /** Runs in progress (from before their preparation). */
  readonly active: number;
}

/** A run that cannot succeed by being retried (bad payload, a config the trainer refuses, divergence). */
function isRunOwnFault(error: unknown): boolean {
  const name = (error as Error)?.name ?? '';
  return (
    (error instanceof SweepQueueError && error.code === 'invalid-job') ||
    ['TrainerError', 'CheckpointError', 'OptimizerError', 'DivergenceError', 'DatasetError'].includes(name)
  );
}

/** The full result of a run that may have resumed: the loss history includes the steps before the resume. */
export function completeResult(result: TrainResult, records: readonly StepRecord[]): TrainResult {
  if (result.losses.length === result.steps || records.length !== result.steps) return result;
  const losses = records.map((r) => r.loss);
  const tail = losses.slice(-50);
  return {
    ...result,
    losses,
    finalTrainLoss: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : Number.NaN,
    msPerStepMedian: median(records.map((r) => r.msPerStep)),
  };
}

/** Starts a worker that trains queued runs, checkpointing each into Redis every `checkpointEvery` steps. */
export async function startSweepWorker(options: SweepWorkerOptions = {}): Promise<SweepWorker> {
  const target = parseRedisUrl(options.url);
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  checkPrefix(prefix);
  const redis = await openRedis(target, options);
  const store = new SweepStore(redis, prefix);
  const hooks: RunHooks = { ...defaultHooks, ...options.hooks };
  const id = `${hostname()}:${process.pid}`;
  const stopping = new AbortController();
  const emit = (event: WorkerEvent) => options.onEvent?.(event);
  let started = 0;
  let active = 0;
  let lastActivity = Date.now();
  let resolveStopped!: (reason: 'closed' | 'max-runs' | 'idle') => void;
  let rejectStopped!: (error: Error) => void;
  const stopped = new Promise<'closed' | 'max-runs' | 'idle'>((resolve, reject) => {
    resolveStopped = resolve;
    rejectStopped = reject;
  });

  const processJob = async (
    job: Job,
    token?: string,
    jobSignal?: AbortSignal,
  ): Promise<{ recorded: boolean }> => {
    started += 1;
    active += 1;
    if (options.maxRuns !== undefined && started >= options.maxRuns) void stop('max-runs', false);
    try {
      return await processRun(job, token, jobSignal);
    } finally {
      active -= 1;
      lastActivity = Date.now();
    }
  };

  const processRun = async (job: Job, token?: string, jobSignal?: AbortSignal) => {
    let payload: RunPayload;
    try {
      payload = validateRunPayload(job.data, { resolve: false });
      await hooks.prepare(payload);
      payload = validateRunPayload(job.data);
      if (runId(payload) !== job.id) {
        throw new SweepQueueError(
          'invalid-job',
          `job id ${job.id} does not match its payload (${runId(payload)})`,
        );
      }
    } catch (error) {
      if (isRunOwnFault(error)) throw new UnrecoverableError((error as Error).message);
      if (error instanceof RunElsewhereError) {
        await job.moveToDelayed(Date.now() + 1000, token);
        throw new DelayedError(error.message);
      }
      throw error;
    }
    const key = job.id!;
    const existing = await store.result(key);
    if (existing) {
      emit({ type: 'finished', runId: key, payload, result: existing, recorded: false });
      return { recorded: false };
    }
    const signal = jobSignal ? AbortSignal.any([stopping.signal, jobSignal]) : stopping.signal;
    const attemptStart = performance.now();
    const data = await hooks.loadData(payload);
    const saved = await store.loadCheckpoint(key);
    const trainer = await hooks.createTrainer(payload, data, saved?.checkpoint);
    const records: StepRecord[] = saved ? [...saved.records] : [];
    const priorWall = saved?.wallSeconds ?? 0;
    const wall = () => priorWall + (performance.now() - attemptStart) / 1000;
    emit({ type: 'started', runId: key, payload, ...(saved ? { resumedAt: saved.checkpoint.step } : {}) });
    try {
      const steps = payload.config.steps;
      const result = await runTrainer(trainer, {
        signal,
        evalBatchSize: payload.evalBatch,
        onStep: async (record) => {
          records.push(record);
          if (record.step % payload.checkpointEvery === 0 && record.step < steps) {
            await store.saveCheckpoint(key, await trainer.checkpoint(), records, wall());
          }
        },
      });
      if (result.stopped) {
        await store.saveCheckpoint(key, await trainer.checkpoint(), records, wall());
        await job.moveToWait(token);
        emit({ type: 'requeued', runId: key, payload, step: trainer.step });
        throw new WaitingError();
      }
      const stored: StoredResult = {
        runId: key,
        result: completeResult(result, records),
        records,
        wallSeconds: wall(),
        ...(saved ? { resumedFrom: saved.checkpoint.step } : {}),
        worker: id,
        finishedAt: new Date().toISOString(),
      };
      const recorded = await store.recordResult(stored);
      emit({
        type: 'finished',
        runId: key,
        payload,
        result: recorded ? stored : ((await store.result(key)) ?? stored),
        recorded,
      });
      return { recorded };
    } catch (error) {
      if (error instanceof WaitingError) throw error;
      if (signal.aborted && (error as Error).name === 'AbortError') {
        // Stopped during evaluation: the last checkpoint stays, the run goes back to the queue.
        await job.moveToWait(token);
        emit({ type: 'requeued', runId: key, payload, step: saved?.checkpoint.step ?? 0 });
        throw new WaitingError();
      }
      if (isRunOwnFault(error)) throw new UnrecoverableError((error as Error).message);
      throw error;
    } finally {
      trainer.dispose();
    }
  };

  const concurrency = Math.max(
    1,
    Math.min(options.concurrency ?? 1, options.maxRuns ?? Number.POSITIVE_INFINITY),
  );
  const worker = new Worker(QUEUE_NAME, processJob, {
    connection: redisOptions(target, options) as ConnectionOptions,
    prefix,
    concurrency,
    name: id,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 5,
    drainDelay: 1,
  });
  worker.on('failed', (job, error) => {
    if (!job || ['WaitingError', 'DelayedError'].includes(error.name)) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    emit({ type: 'failed', runId: job.id ?? '?', error: redact(error.message, target), final });
  });
  worker.on('error', () => {}); // connection trouble: the monitor connection below decides when to give up

  let stopping_ = false;
  const stop = async (reason: 'closed' | 'max-runs' | 'idle', abortRuns: boolean) => {
    if (stopping_) return;
    stopping_ = true;
    clearInterval(idleTimer);
    if (abortRuns) stopping.abort();
    await worker.close();
    redis.disconnect();
    resolveStopped(reason);
  };
  const idleTimer = setInterval(() => {
    const idleFor = (Date.now() - lastActivity) / 1000;
    if (options.idleExitSeconds !== undefined && active === 0 && idleFor >= options.idleExitSeconds) {
      void stop('idle', false);
    }
  }, 250);
  redis.on('end', () => {
    if (stopping_) return;
    stopping_ = true;
    clearInterval(idleTimer);
    stopping.abort();
    void worker.close(true).catch(() => {});
    rejectStopped(connectionError(target, new Error('Redis did not come back'), 'working'));
  });
  await worker.waitUntilReady().catch((error: unknown) => {
    throw connectionError(target, error);
  });
  return {
    id,
    stopped,
    close: () => stop('closed', true),
    get active() {
      return active;
    },
  };
}
