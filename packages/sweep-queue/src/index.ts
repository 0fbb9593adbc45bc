// Sweeps of gradsign training runs over many processes and machines, on BullMQ and Redis.
export { canonicalJson, decodeJson, encodeJson, hashHex } from './canonical.js';
export { connectionError, openRedis } from './connection.js';
export { RunElsewhereError, SweepQueueError, type SweepQueueErrorCode } from './errors.js';
export { defaultHooks } from './hooks.js';
export {
  JOB_BACKENDS,
  PAYLOAD_LIMITS,
  PAYLOAD_VERSION,
  type RunPayload,
  runId,
  validateRunPayload,
} from './payload.js';
export {
  DEFAULT_PREFIX,
  QUEUE_NAME,
  type QueueConnectOptions,
  RUN_JOB_OPTIONS,
  type RunState,
  type SubmitResult,
  SweepQueue,
  type SweepStatus,
  sweepId,
} from './queue.js';
export { type StoredCheckpoint, type StoredResult, type SweepManifest, SweepStore } from './store.js';
export {
  type ConnectionTuning,
  parseRedisUrl,
  REDIS_URL_ENV,
  type RedisTarget,
  redact,
  redactText,
  redisOptions,
} from './url.js';
export {
  completeResult,
  type QueueTrainer,
  type RunHooks,
  type SweepWorker,
  type SweepWorkerOptions,
  startSweepWorker,
  type WorkerEvent,
} from './worker.js';
