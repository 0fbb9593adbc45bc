import type { ImageSplit } from '@gradsign/datasets';
import type { Checkpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { CheckpointError, DivergenceError, TrainerError } from './errors.js';
import { type EvalResult, type EvaluateOptions, evalResult } from './evaluate.js';
import { StepLog } from './history.js';
import type { NonFiniteOptions } from './nonfinite.js';
import type {
  EvalPart,
  ReplicaInfo,
  ReplicaReply,
  ReplicaRequest,
  ReplicaResult,
  StepDone,
} from './parallel/protocol.js';
import { SharedReplicaGroup } from './replica-group.js';
import { type StepRecord, TrainerBase, type TrainerData } from './trainer-base.js';

/**
 * One replica's thread as the driving thread sees it, whatever runs it (a Node worker thread, a Web Worker): it
 * takes `ReplicaRequest`s and answers each with a `ReplicaReply` (`createReplica` gives the replica side).
 */
export interface ReplicaChannel {
  /** Sends a request (structured clone; SharedArrayBuffers are shared). */
  post(request: ReplicaRequest): void;
  /** Calls `handler` with every reply. */
  onMessage(handler: (reply: ReplicaReply) => void): void;
  /** Calls `handler` when the thread fails or exits (once is enough; later calls are ignored). */
  onFailure(handler: (error: Error) => void): void;
  /** Stops the thread. */
  terminate(): unknown;
}

/** Starts replica `index` of `count` and returns its channel. */
export type SpawnReplica = (index: number, count: number) => ReplicaChannel;

/** The parts of a Web Worker a replica channel uses (the DOM's `Worker`, or anything with the same surface). */
export interface WebWorkerLike {
  /** Sends a message to the worker. */
  postMessage(message: unknown): void;
  /** Listens to the worker's messages. */
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  /** Listens to the worker's uncaught errors, and to messages from it that could not be read. */
  addEventListener(type: 'error' | 'messageerror', listener: (event: { message?: string }) => void): void;
  /** Stops the worker. */
  terminate(): void;
}

/**
 * The channel of a replica running in a Web Worker whose script answers requests with `createReplica` (after
 * setting up its tfjs backend). An uncaught error in the worker, or a message it cannot read, fails the run.
 */
export function webWorkerChannel(worker: WebWorkerLike): ReplicaChannel {
  return {
    post: (request) => worker.postMessage(request),
    onMessage: (handler) =>
      worker.addEventListener('message', (event) => handler(event.data as ReplicaReply)),
    onFailure: (handler) => {
      worker.addEventListener('error', (event) =>
        handler(new Error(`a replica worker failed: ${event.message ?? 'unknown error'}`)),
      );
      worker.addEventListener('messageerror', () =>
        handler(new Error('a replica worker sent a message that could not be read')),
      );
    },
    terminate: () => worker.terminate(),
  };
}

/** Options of `DataParallelTrainer.create`: the run, its data, the replica count and how to start a replica. */
export interface DataParallelOptions {
  /** Missing fields take the reference protocol's values (see `resolveConfig`). */
  readonly config?: Partial<TrainConfig>;
  readonly data: TrainerData;
  /** Replicas; each batch is split into this many shards (at most the batch size). */
  readonly workers: number;
  /** Starts each replica's thread, with its tfjs backend set up (see `ReplicaChannel`). */
  readonly spawn: SpawnReplica;
  /** The tfjs backend the replicas train on, as reported (default: this thread's active backend). */
  readonly backend?: string;
  /** What to do when training diverges: see `TrainerOptions.onNonFinite`. */
  readonly onNonFinite?: NonFiniteOptions;
}

/**
 * Started replicas, for the constructor (of this class or a subclass).
 * @internal
 */
export interface Started {
  readonly pool: ReplicaPool;
  readonly info: ReplicaInfo;
  readonly data: TrainerData;
  readonly log: StepLog;
  readonly skipped: number;
  readonly onNonFinite?: NonFiniteOptions;
}

const runOf = (options: { readonly config?: Partial<TrainConfig> }): RunStart =>
  options.config ? { config: options.config } : {};

type ReplicaError = Extract<ReplicaReply, { error: unknown }>['error'];
type Request = ReplicaRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** Copies a split into shared memory once, so every replica thread reads the same pixels without a copy. */
const sharedSplits = new WeakMap<ImageSplit, ImageSplit>();
function shareSplit(split: ImageSplit): ImageSplit {
  if (typeof SharedArrayBuffer !== 'function')
    throw new TrainerError(
      'invalid-config',
      'data-parallel training needs SharedArrayBuffer (in a browser: a cross-origin-isolated page)',
    );
  if (split.images.buffer instanceof SharedArrayBuffer && split.labels.buffer instanceof SharedArrayBuffer)
    return split;
  const cached = sharedSplits.get(split);
  if (cached) return cached;
  const copy = (a: Uint8Array) => {
    const out = new Uint8Array(new SharedArrayBuffer(a.length));
    out.set(a);
    return out;
  };
  const shared: ImageSplit = { ...split, images: copy(split.images), labels: copy(split.labels) };
  sharedSplits.set(split, shared);
  return shared;
}

/** One replica thread and its requests in flight. */
class ReplicaThread {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(r: ReplicaResult): void; reject(e: Error): void }>();

  constructor(
    readonly channel: ReplicaChannel,
    onFailure: (error: Error) => void,
  ) {
    channel.onMessage((reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if ('ok' in reply) waiter.resolve(reply.ok);
      else waiter.reject(replicaError(reply.error));
    });
    channel.onFailure(onFailure);
  }

  call(request: Request): Promise<ReplicaResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.channel.post({ ...request, id } as ReplicaRequest);
    });
  }

  failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}

function replicaError(e: ReplicaError): Error {
  if (e.divergence) {
    const d = e.divergence;
    return new DivergenceError(d.step, d.quantity, d.value, d.what);
  }
  if (e.name === 'TrainerError') return new TrainerError(e.code as never, e.message);
  if (e.name === 'CheckpointError') return new CheckpointError(e.code as never, e.message);
  const error = new Error(e.message);
  error.name = e.name;
  return error;
}

/**
 * The replica threads of one run. The first failure among them (a thread's error or exit) aborts the replica
 * group, so replicas waiting in an all-reduce stop waiting, and rejects every request in flight; later requests
 * throw it. After `stop()`, exits are expected and ignored.
 * @internal
 */
export class ReplicaPool {
  readonly threads: ReplicaThread[];
  failure: Error | null = null;
  private stopped = false;

  constructor(
    readonly group: SharedArrayBuffer,
    count: number,
    spawn: SpawnReplica,
  ) {
    this.threads = [];
    try {
      for (let i = 0; i < count; i++)
        this.threads.push(new ReplicaThread(spawn(i, count), (error) => this.fail(error)));
    } catch (error) {
      void this.stop();
      throw error;
    }
  }

  private fail(error: Error): void {
    if (this.stopped || this.failure) return;
    this.failure = error;
    SharedReplicaGroup.abort(this.group);
    for (const t of this.threads) t.failAll(error);
  }

  /** Sends `request` to every replica and waits for all of their results. */
  all(request: Request): Promise<ReplicaResult[]> {
    if (this.failure) throw this.failure;
    return Promise.all(this.threads.map((t) => t.call(request)));
  }

  stop(): Promise<unknown> {
    this.stopped = true;
    return Promise.all(this.threads.map((t) => t.channel.terminate()));
  }
}

/** How a run starts: fresh from a config, or resumed from a checkpoint (with `steps` overriding its total). */
interface RunStart {
  readonly config?: Partial<TrainConfig>;
  readonly checkpoint?: Checkpoint;
  readonly steps?: number;
}

/**
 * Data-parallel training over replica threads (Node worker threads, Web Workers: `spawn` says how to start one):
 * `workers` replicas of the model each train on their share of every batch, with BatchNorm statistics, gradients
 * and loss summed over the replicas through shared memory, so a step computes the same update as `Trainer` on the
 * whole batch (up to float32 rounding: the sums are added in a different order). Runs are deterministic for a
 * given backend and worker count, and checkpoints are ordinary `Trainer` checkpoints. Use it where the backend
 * computes on one thread (wasm and cpu). In Node, `ParallelTrainer` ('@gradsign/trainer/node') starts the
 * threads itself; in a browser, pass Web Workers through `webWorkerChannel` (the page must be cross-origin
 * isolated, for SharedArrayBuffer).
 *
 * The same surface as `Trainer` (`TrainerBase`), but asynchronous to create; call `dispose()` to stop the threads.
 */
export class DataParallelTrainer extends TrainerBase {
  readonly config: TrainConfig;
  readonly data: TrainerData;
  readonly backend: string;
  readonly workers: number;
  private readonly pool: ReplicaPool;
  private readonly info: ReplicaInfo;
  private optimizerBytes: number;
  private skipped: number;
  private readonly skipPolicy: boolean;
  private disposed = false;

  /** @internal */
  protected constructor(started: Started) {
    super();
    const { pool, info, data, log, skipped, onNonFinite } = started;
    this.log = log;
    this.skipPolicy = onNonFinite?.policy === 'skip';
    this.skipped = skipped;
    this.pool = pool;
    this.info = info;
    this.config = info.config;
    this.data = data;
    this.backend = info.backend;
    this.workers = pool.threads.length;
    this.stepsDone = info.step;
    this.trainMs = info.trainSeconds * 1000;
    this.optimizerBytes = info.stateBytes;
  }

  /** A fresh run on `workers` replicas. */
  static async create(options: DataParallelOptions): Promise<DataParallelTrainer> {
    return new DataParallelTrainer(await DataParallelTrainer.startReplicas(options, runOf(options)));
  }

  /** Continues a run from a checkpoint (written by `Trainer` or a data-parallel trainer) on `workers` replicas. */
  static async restore(
    checkpoint: Checkpoint,
    options: Omit<DataParallelOptions, 'config'> & { readonly steps?: number },
  ): Promise<DataParallelTrainer> {
    return new DataParallelTrainer(await DataParallelTrainer.startRestored(checkpoint, options));
  }

  /**
   * The replicas of a resumed run; a checkpoint whose config is not usable is refused before any starts.
   * @internal
   */
  protected static startRestored(
    checkpoint: Checkpoint,
    options: Omit<DataParallelOptions, 'config'> & { readonly steps?: number },
  ): Promise<Started> {
    TrainerBase.restoredConfig(checkpoint, options.steps);
    return DataParallelTrainer.startReplicas(options, {
      checkpoint,
      ...(options.steps !== undefined ? { steps: options.steps } : {}),
    });
  }

  /**
   * Starts the replicas and the run on each; stops them again if any fails to start.
   * @internal
   */
  protected static async startReplicas(
    options: Omit<DataParallelOptions, 'config'>,
    run: RunStart,
  ): Promise<Started> {
    const count = options.workers;
    if (!Number.isInteger(count) || count < 1)
      throw new TrainerError('invalid-config', `workers must be a positive integer, got ${String(count)}`);
    const train = shareSplit(options.data.train);
    const group = SharedReplicaGroup.allocate(count);
    const pool = new ReplicaPool(group, count, options.spawn);
    try {
      const infos = await Promise.all(
        pool.threads.map((t, index) =>
          t.call({
            kind: 'start',
            group,
            index,
            count,
            train,
            ...(run.config ? { config: run.config as TrainConfig } : {}),
            ...(run.checkpoint ? { checkpoint: run.checkpoint } : {}),
            ...(run.steps !== undefined ? { steps: run.steps } : {}),
            ...(options.onNonFinite ? { onNonFinite: options.onNonFinite } : {}),
          }),
        ),
      );
      return {
        pool,
        info: infos[0] as ReplicaInfo,
        data: options.data,
        log: run.checkpoint ? StepLog.resume(run.checkpoint) : new StepLog(),
        skipped: run.checkpoint?.skips?.skippedSteps ?? 0,
        ...(options.onNonFinite ? { onNonFinite: options.onNonFinite } : {}),
      };
    } catch (error) {
      await pool.stop();
      throw error;
    }
  }

  paramCount(): number {
    return this.info.params;
  }

  get skippedSteps(): number {
    return this.skipped;
  }

  stateBytes(): number {
    return this.optimizerBytes;
  }

  private checkUsable(): void {
    if (this.disposed) throw new TrainerError('disposed', 'this trainer has been disposed');
    if (this.pool.failure) throw this.pool.failure;
  }

  private async all(request: Request): Promise<ReplicaResult[]> {
    this.checkUsable();
    return this.pool.all(request);
  }

  /** One optimizer step on the next batch, split over the replicas. */
  async trainStep(): Promise<StepRecord> {
    const start = performance.now();
    let done: StepDone | undefined;
    try {
      [done] = (await this.all({ kind: 'step' })) as StepDone[];
    } catch (error) {
      // Under 'skip', the replicas gave up on a step whose update they skipped too.
      if (error instanceof DivergenceError && error.quantity !== 'weights' && this.skipPolicy)
        this.skipped += 1;
      throw error;
    }
    const { record, stateBytes, skippedSteps } = done!;
    const ms = performance.now() - start;
    this.optimizerBytes = stateBytes;
    this.skipped = skippedSteps;
    this.recordStep(ms, record.loss, record.epoch);
    return { ...record, msPerStep: ms, elapsedSeconds: this.trainMs / 1000 };
  }

  /** Evaluates in eval mode on `split` (default: the test split), each replica taking a share of the images. */
  async evaluate(options: EvaluateOptions & { readonly split?: ImageSplit } = {}): Promise<EvalResult> {
    this.checkUsable();
    const start = performance.now();
    const given = options.split ?? this.data.test;
    if (!given)
      throw new TrainerError('no-test-split', 'evaluate() needs a test split (data.test) or options.split');
    const split = shareSplit(given);
    const batchSize = options.batchSize ?? 250;
    // Rounds of a few batches per replica, so progress and Ctrl-C are seen between rounds.
    const chunk = batchSize * 4;
    let correct = 0;
    let lossSum = 0;
    let count = 0;
    for (let done = 0; done < split.count; ) {
      options.signal?.throwIfAborted();
      const parts: Promise<ReplicaResult>[] = [];
      for (const thread of this.pool.threads) {
        const n = Math.min(chunk, split.count - done);
        if (n <= 0) break;
        parts.push(thread.call({ kind: 'evaluate', split, start: done, count: n, batchSize }));
        done += n;
      }
      for (const part of (await Promise.all(parts)) as EvalPart[]) {
        correct += part.correct;
        lossSum += part.lossSum;
        count += part.count;
      }
      options.onProgress?.(count, split.count);
    }
    return evalResult({ correct, lossSum, count }, start);
  }

  /** The run's complete state, as `Trainer.checkpoint()` gives it (the replicas hold identical copies). */
  async checkpoint(meta?: Record<string, unknown>): Promise<Checkpoint> {
    this.checkUsable();
    const checkpoint = (await this.pool.threads[0]!.call({
      kind: 'checkpoint',
      ...(meta ? { meta } : {}),
    })) as Checkpoint;
    // This thread's step times (what `trainStep` reports), not the replica's.
    return { ...checkpoint, history: this.log.snapshot() };
  }

  /** Stops the replica threads. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.pool.stop();
  }
}
