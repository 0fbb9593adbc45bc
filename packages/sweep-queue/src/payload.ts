import { type NonFiniteOptions, resolveConfig, type TrainConfig } from '@gradsign/trainer';
import { canonicalJson, hashHex } from './canonical.js';
import { SweepQueueError } from './errors.js';

/** Version of the run payload format (`v` of every job); a worker refuses payloads of another version. */
export const PAYLOAD_VERSION = 1;
/** Backends a job may ask for. */
export const JOB_BACKENDS = ['cpu', 'wasm', 'tensorflow', 'webgl'] as const;
/** Upper bounds that keep a hostile job from asking for absurd work or memory. */
export const PAYLOAD_LIMITS = Object.freeze({
  steps: 10_000_000,
  batchSize: 65_536,
  workers: 256,
  dataLimit: 10_000_000,
  evalBatch: 65_536,
  optimizerOptions: 32,
});

/** One run of a sweep, as a job carries it: everything that determines its result, and nothing else. */
export interface RunPayload {
  readonly v: typeof PAYLOAD_VERSION;
  /** The resolved run configuration. */
  readonly config: TrainConfig;
  readonly backend: string;
  /** Data-parallel threads (1: none). */
  readonly workers: number;
  /** Train/test on the first n images of the embedded MNIST (null: all). */
  readonly trainLimit: number | null;
  readonly testLimit: number | null;
  readonly evalBatch: number;
  /** What the run does when its loss or gradients go non-finite (absent: stop as diverged, the default). */
  readonly onNonFinite?: NonFiniteOptions;
  /** Steps between checkpoints into Redis (does not change the result, not part of the run id). */
  readonly checkpointEvery: number;
  /**
   * 'portable': the wasm backend's portable SIMD kernels, bit-identical across machines (absent: the FMA kernels
   * where the worker's engine has relaxed SIMD).
   */
  readonly kernels?: 'portable';
}

/** The job id of a run: a hash of the canonical JSON of everything that determines its result. */
export function runId(payload: RunPayload): string {
  const { checkpointEvery: _, ...identity } = payload;
  return `run-${hashHex(canonicalJson(identity))}`;
}

const NAME = /^[a-z][a-z0-9-]{0,63}$/;

/**
 * Checks a job's data before anything is trained: known fields only, the right types, sane bounds, a resolvable
 * config (unless `resolve` is false: a worker first imports the optimizer's package, whose name is checked),
 * an optimizer name that cannot point at a file. Throws {@link SweepQueueError} ('invalid-job').
 */
export function validateRunPayload(data: unknown, options: { readonly resolve?: boolean } = {}): RunPayload {
  const bad = (problem: string): never => {
    throw new SweepQueueError('invalid-job', `malformed job payload: ${problem}`);
  };
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const int = (v: unknown, name: string, min: number, max: number): number => {
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
      bad(`${name} must be an integer in ${min}…${max}, got ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const only = (obj: Record<string, unknown>, allowed: readonly string[], where: string) => {
    for (const key of Object.keys(obj)) if (!allowed.includes(key)) bad(`unexpected field '${where}${key}'`);
  };
  if (!isObject(data)) return bad('not an object');
  only(
    data,
    [
      'v',
      'config',
      'backend',
      'workers',
      'trainLimit',
      'testLimit',
      'evalBatch',
      'checkpointEvery',
      'onNonFinite',
      'kernels',
    ],
    '',
  );
  if (data.kernels !== undefined && data.kernels !== 'portable')
    bad(`kernels must be 'portable' when present, got ${JSON.stringify(data.kernels)}`);
  if (data.v !== PAYLOAD_VERSION)
    bad(`version ${JSON.stringify(data.v)} (this worker reads ${PAYLOAD_VERSION})`);
  if (!(JOB_BACKENDS as readonly unknown[]).includes(data.backend)) {
    bad(`backend must be one of ${JOB_BACKENDS.join(', ')}, got ${JSON.stringify(data.backend)}`);
  }
  const workers = int(data.workers, 'workers', 1, PAYLOAD_LIMITS.workers);
  const limit = (v: unknown, name: string) => (v === null ? null : int(v, name, 1, PAYLOAD_LIMITS.dataLimit));
  const trainLimit = limit(data.trainLimit, 'trainLimit');
  const testLimit = limit(data.testLimit, 'testLimit');
  const evalBatch = int(data.evalBatch, 'evalBatch', 1, PAYLOAD_LIMITS.evalBatch);
  const checkpointEvery = int(data.checkpointEvery, 'checkpointEvery', 1, PAYLOAD_LIMITS.steps);
  let onNonFinite: NonFiniteOptions | undefined;
  if (data.onNonFinite !== undefined) {
    const n = data.onNonFinite;
    if (!isObject(n)) return bad('onNonFinite is not an object');
    only(n, ['policy', 'maxConsecutive'], 'onNonFinite.');
    if (n.policy !== 'stop' && n.policy !== 'skip') bad(`onNonFinite.policy must be 'stop' or 'skip'`);
    const max =
      n.maxConsecutive === undefined
        ? {}
        : { maxConsecutive: int(n.maxConsecutive, 'onNonFinite.maxConsecutive', 1, 1_000_000) };
    onNonFinite = { policy: n.policy as 'stop' | 'skip', ...max };
  }
  const c = data.config;
  if (!isObject(c)) return bad('config is not an object');
  only(
    c,
    ['model', 'modelOptions', 'optimizer', 'learningRate', 'optimizerConfig', 'steps', 'batchSize', 'seed'],
    'config.',
  );
  if (typeof c.optimizer !== 'string' || !NAME.test(c.optimizer)) {
    bad(`config.optimizer must be a lower-case name, got ${JSON.stringify(c.optimizer)}`);
  }
  if (typeof c.model !== 'string' || !NAME.test(c.model)) bad(`config.model ${JSON.stringify(c.model)}`);
  int(c.steps, 'config.steps', 0, PAYLOAD_LIMITS.steps);
  int(c.batchSize, 'config.batchSize', 1, PAYLOAD_LIMITS.batchSize);
  int(c.seed, 'config.seed', -(2 ** 31), 2 ** 32);
  if (c.modelOptions !== undefined) {
    if (!isObject(c.modelOptions)) bad('config.modelOptions is not an object');
    const m = c.modelOptions as Record<string, unknown>;
    only(m, ['hidden', 'fused'], 'config.modelOptions.');
    if (m.hidden !== undefined) int(m.hidden, 'config.modelOptions.hidden', 1, 65_536);
    if (m.fused !== undefined && typeof m.fused !== 'boolean')
      bad('config.modelOptions.fused is not a boolean');
  }
  if (c.optimizerConfig !== undefined) {
    if (!isObject(c.optimizerConfig)) bad('config.optimizerConfig is not an object');
    const entries = Object.entries(c.optimizerConfig as Record<string, unknown>);
    if (entries.length > PAYLOAD_LIMITS.optimizerOptions) bad('config.optimizerConfig has too many options');
    for (const [key, value] of entries) {
      if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(key)) bad(`config.optimizerConfig key ${JSON.stringify(key)}`);
      const ok =
        typeof value === 'boolean' ||
        (typeof value === 'number' && Number.isFinite(value)) ||
        (typeof value === 'string' && value.length <= 256);
      if (!ok) bad(`config.optimizerConfig.${key} must be a finite number, boolean or short string`);
    }
  }
  let config = c as unknown as TrainConfig;
  if (options.resolve !== false) {
    try {
      config = resolveConfig(c as Partial<TrainConfig>);
    } catch (error) {
      return bad((error as Error).message);
    }
    if (canonicalJson(config) !== canonicalJson(c)) bad('config is not in resolved form');
  }
  return {
    v: PAYLOAD_VERSION,
    config,
    backend: data.backend as string,
    workers,
    trainLimit,
    testLimit,
    evalBatch,
    checkpointEvery,
    ...(onNonFinite ? { onNonFinite } : {}),
    ...(data.kernels === 'portable' ? { kernels: 'portable' as const } : {}),
  };
}
