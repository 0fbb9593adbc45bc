import {
  type Checkpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  type StepRecord,
  type TrainResult,
} from '@gradsign/trainer';
import type { Redis } from 'ioredis';
import { decodeJson, encodeJson } from './canonical.js';
import type { RunPayload } from './payload.js';

/** A finished run as it is recorded (once) in Redis. */
export interface StoredResult {
  readonly runId: string;
  readonly result: TrainResult;
  /** Every step record of the run, also those before a resume. */
  readonly records: readonly StepRecord[];
  /** Wall time of the run's attempts together (training and evaluation), in seconds. */
  readonly wallSeconds: number;
  /** The step the recording attempt resumed from (absent: it ran from the start). */
  readonly resumedFrom?: number;
  /** `host:pid` of the worker that recorded it, and when. */
  readonly worker: string;
  readonly finishedAt: string;
}

/** A sweep as submitted: its runs in plan order. */
export interface SweepManifest {
  readonly v: 1;
  readonly id: string;
  readonly kind: string;
  readonly createdAt: string;
  readonly runs: readonly { readonly id: string; readonly payload: RunPayload }[];
}

/** The last checkpoint of an unfinished run, with the step records before it. */
export interface StoredCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly records: StepRecord[];
  readonly wallSeconds: number;
}

// Keeps only the newest checkpoint, and none once the result is recorded (a late duplicate cannot bring one back).
const SAVE_CHECKPOINT = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local current = redis.call('HGET', KEYS[1], 'step')
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'step', ARGV[1], 'bytes', ARGV[2], 'records', ARGV[3], 'wall', ARGV[4])
return 1`;

// Records a result exactly once and drops the run's checkpoint in the same step.
const RECORD_RESULT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0`;

/** The sweep queue's own keys in Redis (BullMQ keeps the jobs): results, checkpoints and sweep manifests. */
export class SweepStore {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  /** The Redis key of a run's result or checkpoint, or of a sweep's manifest: `<prefix>:gs:<kind>:<id>`. */
  key(kind: 'result' | 'checkpoint' | 'sweep', id: string): string {
    return `${this.prefix}:gs:${kind}:${id}`;
  }

  /** Stores a checkpoint unless a newer one (or the result) is there already. True when stored. */
  async saveCheckpoint(
    runId: string,
    checkpoint: Checkpoint,
    records: readonly StepRecord[],
    wallSeconds: number,
  ): Promise<boolean> {
    const stored = await this.redis.eval(
      SAVE_CHECKPOINT,
      2,
      this.key('checkpoint', runId),
      this.key('result', runId),
      String(checkpoint.step),
      Buffer.from(encodeCheckpoint(checkpoint)),
      encodeJson(records),
      String(wallSeconds),
    );
    return stored === 1;
  }

  /** The run's stored checkpoint with its step records and wall time, or null when there is none. */
  async loadCheckpoint(runId: string): Promise<StoredCheckpoint | null> {
    const key = this.key('checkpoint', runId);
    const [bytes, records, wall] = await this.redis.hmgetBuffer(key, 'bytes', 'records', 'wall');
    if (!bytes || !records) return null;
    return {
      checkpoint: decodeCheckpoint(new Uint8Array(bytes), `checkpoint of ${runId} in Redis`),
      records: decodeJson<StepRecord[]>(records.toString('utf8')),
      wallSeconds: Number(wall?.toString() ?? 0),
    };
  }

  /** Records the run's result unless one is recorded already. True when this call recorded it. */
  async recordResult(result: StoredResult): Promise<boolean> {
    const recorded = await this.redis.eval(
      RECORD_RESULT,
      2,
      this.key('result', result.runId),
      this.key('checkpoint', result.runId),
      encodeJson(result),
    );
    return recorded === 1;
  }

  /** The run's recorded result, or null when it has not finished. */
  async result(runId: string): Promise<StoredResult | null> {
    const text = await this.redis.get(this.key('result', runId));
    return text === null ? null : decodeJson<StoredResult>(text);
  }

  /** Which of `runIds` have a recorded result. */
  async finished(runIds: readonly string[]): Promise<boolean[]> {
    if (runIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of runIds) pipeline.exists(this.key('result', id));
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, value]) => {
      if (error) throw error;
      return value === 1;
    });
  }

  /** The step of each run's stored checkpoint (0: none). */
  async checkpointSteps(runIds: readonly string[]): Promise<number[]> {
    if (runIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of runIds) pipeline.hget(this.key('checkpoint', id), 'step');
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, value]) => {
      if (error) throw error;
      return value ? Number(value) : 0;
    });
  }

  /** Stores a sweep's manifest unless one with its id is there already (the same id means the same plan). */
  async saveSweep(manifest: SweepManifest): Promise<void> {
    await this.redis.set(this.key('sweep', manifest.id), encodeJson(manifest), 'NX');
  }

  /** The manifest of sweep `id`, or null when no such sweep was submitted under this prefix. */
  async sweep(id: string): Promise<SweepManifest | null> {
    const text = await this.redis.get(this.key('sweep', id));
    return text === null ? null : decodeJson<SweepManifest>(text);
  }
}
