import { type ConnectionOptions, type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { canonicalJson, hashHex } from './canonical.js';
import { connectionError, openRedis } from './connection.js';
import { SweepQueueError } from './errors.js';
import { type RunPayload, runId, validateRunPayload } from './payload.js';
import { type StoredResult, type SweepManifest, SweepStore } from './store.js';
import { type ConnectionTuning, parseRedisUrl, type RedisTarget, redisOptions } from './url.js';

/** The BullMQ queue that holds the runs. */
export const QUEUE_NAME = 'runs';
/** The key namespace used when no `prefix` is given. */
export const DEFAULT_PREFIX = 'gradsign';

/** Options of {@link SweepQueue.connect}: connection timeouts and the key namespace. */
export interface QueueConnectOptions extends ConnectionTuning {
  /** Namespace for every key, so several teams can share one Redis (default 'gradsign'). */
  readonly prefix?: string;
}

/** Where one run of a sweep stands. */
export type RunState = 'queued' | 'running' | 'done' | 'failed' | 'missing';

/** Progress of one sweep: how many of its runs are in each state, and each run with its state. */
export interface SweepStatus {
  readonly id: string;
  readonly kind: string;
  readonly total: number;
  readonly queued: number;
  readonly running: number;
  readonly done: number;
  readonly failed: number;
  /** Runs whose job is gone without a result (removed by hand): submit the sweep again to re-add them. */
  readonly missing: number;
  readonly runs: readonly {
    readonly id: string;
    readonly payload: RunPayload;
    readonly state: RunState;
    /** The last stored checkpoint's step (unfinished runs). */
    readonly checkpointStep: number;
    readonly error?: string;
  }[];
}

/** What {@link SweepQueue.submit} did: the sweep's id and how many of its runs it queued. */
export interface SubmitResult {
  readonly id: string;
  readonly total: number;
  /** Runs added to the queue now (failed runs submitted again are retried). */
  readonly added: number;
  /** Runs whose result is already recorded (reused, not run again). */
  readonly finished: number;
  readonly pending: number;
}

/** Retried runs: Redis hiccups, a worker without the backend. Runs failing for reasons of their own are not retried. */
export const RUN_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: false,
  removeOnFail: false,
};

/** The sweep id of a list of runs: the same plan always gets the same id. */
export function sweepId(kind: string, runIds: readonly string[]): string {
  return `sweep-${hashHex(canonicalJson({ kind, runs: runIds }), 16)}`;
}

/**
 * A client of the sweep queue: submits sweeps, reports their progress and collects their results.
 *
 *     const queue = await SweepQueue.connect('redis://:secret@10.0.0.5:6379');
 *     const { id } = await queue.submit('sweep', payloads);
 *     for await (const status of queue.watch(id)) console.log(`${status.done}/${status.total}`);
 *     const results = await queue.results(id);
 */
export class SweepQueue {
  private constructor(
    readonly target: RedisTarget,
    readonly prefix: string,
    readonly redis: Redis,
    readonly store: SweepStore,
    readonly queue: Queue,
    private readonly reconnectForMs: number,
  ) {}

  /** Connects (URL, or `GRADSIGN_REDIS_URL`) and checks the connection; fails fast with host:port named. */
  static async connect(url?: string, options: QueueConnectOptions = {}): Promise<SweepQueue> {
    const target = parseRedisUrl(url);
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    checkPrefix(prefix);
    const redis = await openRedis(target, options);
    const queue = new Queue(QUEUE_NAME, {
      connection: { ...redisOptions(target, options), maxRetriesPerRequest: 1 } as ConnectionOptions,
      prefix,
    });
    queue.on('error', () => {}); // surfaced by the failing call, with host:port
    return new SweepQueue(
      target,
      prefix,
      redis,
      new SweepStore(redis, prefix),
      queue,
      options.reconnectForMs ?? 30_000,
    );
  }

  /** Runs a Redis operation, turning connection failures into a clear {@link SweepQueueError}. */
  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof SweepQueueError) throw error;
      throw connectionError(this.target, error, what);
    }
  }

  /**
   * Adds one job per run that has neither a result nor a job yet; the job id is the run id, so submitting the
   * same plan again runs nothing twice. Every payload is validated first.
   */
  async submit(kind: string, payloads: readonly RunPayload[]): Promise<SubmitResult> {
    const runs = payloads.map((p) => {
      const payload = validateRunPayload(p);
      return { id: runId(payload), payload };
    });
    const id = sweepId(
      kind,
      runs.map((r) => r.id),
    );
    return this.guard('submitting', async () => {
      const manifest: SweepManifest = { v: 1, id, kind, createdAt: new Date().toISOString(), runs };
      await this.store.saveSweep(manifest);
      const finished = await this.store.finished(runs.map((r) => r.id));
      let added = 0;
      let done = 0;
      for (const [i, run] of runs.entries()) {
        if (finished[i]) {
          done += 1;
          continue;
        }
        const state = await this.queue.getJobState(run.id);
        if (state === 'failed') {
          // Submitting again retries failed runs (e.g. after installing a missing optimizer on the workers).
          await (await this.queue.getJob(run.id))?.retry('failed');
          added += 1;
        } else if (state === 'unknown' || state === 'completed') {
          // 'completed' without a result: its result was deleted by hand; the job is replaced.
          if (state === 'completed') await this.queue.remove(run.id);
          await this.queue.add('run', run.payload, { ...RUN_JOB_OPTIONS, jobId: run.id });
          added += 1;
        }
      }
      return { id, total: runs.length, added, finished: done, pending: runs.length - done };
    });
  }

  /** The sweep as submitted; throws {@link SweepQueueError} ('unknown-sweep') for a malformed or unknown id. */
  async manifest(id: string): Promise<SweepManifest> {
    if (!/^sweep-[0-9a-f]{16}$/.test(id)) {
      throw new SweepQueueError(
        'unknown-sweep',
        `'${id}' is not a sweep id (they look like sweep-0123456789abcdef)`,
      );
    }
    const manifest = await this.guard('reading the sweep', () => this.store.sweep(id));
    if (!manifest) {
      throw new SweepQueueError(
        'unknown-sweep',
        `no sweep ${id} in Redis at ${this.target.endpoint} under prefix '${this.prefix}'`,
      );
    }
    return manifest;
  }

  /** Where each run of the sweep stands now (one look, no waiting; see {@link SweepQueue.watch}). */
  async status(id: string): Promise<SweepStatus> {
    const manifest = await this.manifest(id);
    return this.guard('reading the sweep status', async () => {
      const ids = manifest.runs.map((r) => r.id);
      const [finished, steps] = await Promise.all([
        this.store.finished(ids),
        this.store.checkpointSteps(ids),
      ]);
      const runs = await Promise.all(
        manifest.runs.map(async (run, i) => {
          if (finished[i]) return { ...run, state: 'done' as RunState, checkpointStep: 0 };
          const job = await this.queue.getJob(run.id);
          const state = job ? await job.getState() : 'unknown';
          const mapped: RunState =
            state === 'active'
              ? 'running'
              : state === 'failed'
                ? 'failed'
                : state === 'unknown' || state === 'completed'
                  ? 'missing'
                  : 'queued';
          return {
            ...run,
            state: mapped,
            checkpointStep: steps[i]!,
            ...(mapped === 'failed' && job?.failedReason ? { error: job.failedReason } : {}),
          };
        }),
      );
      const count = (s: RunState) => runs.filter((r) => r.state === s).length;
      return {
        id,
        kind: manifest.kind,
        total: runs.length,
        queued: count('queued'),
        running: count('running'),
        done: count('done'),
        failed: count('failed'),
        missing: count('missing'),
        runs,
      };
    });
  }

  /**
   * Yields the sweep's status every `intervalMs` (default 1000) until every run is done, failed or missing. Rides out
   * a Redis that goes away for less than `reconnectForMs`, then throws ('gone').
   */
  async *watch(
    id: string,
    options: { readonly intervalMs?: number; readonly signal?: AbortSignal } = {},
  ): AsyncGenerator<SweepStatus> {
    let failingSince: number | undefined;
    for (;;) {
      let status: SweepStatus | undefined;
      try {
        status = await this.status(id);
        failingSince = undefined;
      } catch (error) {
        if (!(error instanceof SweepQueueError && error.code === 'gone')) throw error;
        failingSince ??= Date.now();
        if (Date.now() - failingSince >= this.reconnectForMs) throw error;
      }
      if (status) {
        yield status;
        if (status.queued + status.running === 0 || options.signal?.aborted) return;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, options.intervalMs ?? 1000);
        options.signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** The recorded results in plan order (null: not finished). */
  async results(id: string): Promise<{ manifest: SweepManifest; results: (StoredResult | null)[] }> {
    const manifest = await this.manifest(id);
    const results = await this.guard('reading results', () =>
      Promise.all(manifest.runs.map((r) => this.store.result(r.id))),
    );
    return { manifest, results };
  }

  /** Submits and waits: resolves with every result in plan order once no run is queued or running. */
  async run(
    kind: string,
    payloads: readonly RunPayload[],
    options: { readonly onStatus?: (status: SweepStatus) => void; readonly signal?: AbortSignal } = {},
  ): Promise<{ id: string; status: SweepStatus; results: (StoredResult | null)[] }> {
    const { id } = await this.submit(kind, payloads);
    let last: SweepStatus | undefined;
    for await (const status of this.watch(id, options.signal ? { signal: options.signal } : {})) {
      last = status;
      options.onStatus?.(status);
    }
    return { id, status: last!, results: (await this.results(id)).results };
  }

  /** Closes the BullMQ queue and disconnects from Redis. Runs already queued stay queued. */
  async close(): Promise<void> {
    await this.queue.close().catch(() => {});
    this.redis.disconnect();
  }
}

export function checkPrefix(prefix: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(prefix)) {
    throw new SweepQueueError(
      'invalid-url',
      `queue prefix '${prefix}' must be letters, digits, '_', '.' or '-' (up to 64)`,
    );
  }
}
