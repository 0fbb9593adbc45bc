import { getOptimizerEntry, listOptimizers } from '@gradsign/optim-core';
import { TrainerError } from './errors.js';
import { listModels } from './models/index.js';

/** Everything that determines a run (with the backend and the data). Plain JSON; stored in checkpoints. */
export interface TrainConfig {
  /** 'blog-cnn' (the reference CNN) or 'mlp'. */
  readonly model: string;
  /**
   * Model options besides the seed (MLP: `hidden`; blog-cnn: `fused`, false for the block composed from tfjs ops
   * instead of the fused kernel).
   */
  readonly modelOptions?: { readonly hidden?: number; readonly fused?: boolean };
  /** A registered optimizer name (`listOptimizers()` of @gradsign/optim-core). */
  readonly optimizer: string;
  readonly learningRate: number;
  /** Further optimizer options (`beta1`, `momentum`, …); `learningRate` and GradSign's `seed` are set for you. */
  readonly optimizerConfig?: Readonly<Record<string, unknown>>;
  /** Total optimizer steps of the run. */
  readonly steps: number;
  readonly batchSize: number;
  /** Seeds the initialisation, dropout masks, data order and GradSign's counters. */
  readonly seed: number;
}

/**
 * The learning rates the reference experiment publishes (the protocol's, not the optimizers'): a run of the trainer
 * without a learning rate takes its optimizer's rate from here, and the optimizer's own library default (its class's
 * `defaults.learningRate`, e.g. Adam's 0.001) only when the protocol publishes none. See {@link defaultLearningRate}.
 */
export const PUBLISHED_LEARNING_RATES: Readonly<Record<string, number>> = Object.freeze({
  gradsign: 0.003,
  adam: 0.003,
  sgd: 0.03,
});

/** The reference protocol: blog-cnn, GradSign at its published rate (0.003), 1000 steps of 32, seed 0. */
export const REFERENCE_CONFIG: TrainConfig = Object.freeze({
  model: 'blog-cnn',
  optimizer: 'gradsign',
  learningRate: PUBLISHED_LEARNING_RATES.gradsign!,
  steps: 1000,
  batchSize: 32,
  seed: 0,
});

/** The reference learning-rate grid per optimizer. */
export const REFERENCE_LR_GRID: Readonly<Record<string, readonly number[]>> = Object.freeze({
  gradsign: [0.001, 0.003, 0.01],
  adam: [0.001, 0.003, 0.01],
  sgd: [0.01, 0.03, 0.1],
});

const bad = (message: string): never => {
  throw new TrainerError('invalid-config', message);
};

/**
 * The learning rate a run takes when none is given: the protocol's published rate where it has one
 * ({@link PUBLISHED_LEARNING_RATES}), else the optimizer's library default (its registry entry's, from its class).
 * The CLI and the web app use the same rule. Undefined for an optimizer that is not registered.
 */
export function defaultLearningRate(optimizer: string): number | undefined {
  const name = optimizer.toLowerCase();
  return (
    PUBLISHED_LEARNING_RATES[name] ?? (getOptimizerEntry(name)?.defaults.learningRate as number | undefined)
  );
}

/**
 * Fills in defaults (the reference protocol; the learning rate of {@link defaultLearningRate} when none is given) and
 * validates. Throws `TrainerError` with code 'invalid-config' naming the field.
 */
export function resolveConfig(partial: Partial<TrainConfig> = {}): TrainConfig {
  const optimizer = (partial.optimizer ?? REFERENCE_CONFIG.optimizer).toLowerCase();
  const entry = getOptimizerEntry(optimizer);
  if (!entry) {
    bad(
      `unknown optimizer '${optimizer}'; registered: ${listOptimizers()
        .map((o) => o.name)
        .join(', ')}`,
    );
  }
  const model = partial.model ?? REFERENCE_CONFIG.model;
  if (!listModels().some((m) => m.name === model)) {
    bad(
      `unknown model '${model}'; available: ${listModels()
        .map((m) => m.name)
        .join(', ')}`,
    );
  }
  const learningRate = (partial.learningRate ?? defaultLearningRate(optimizer)) as number;
  if (typeof learningRate !== 'number' || !Number.isFinite(learningRate) || learningRate <= 0) {
    bad(`learningRate must be a positive finite number, got ${String(learningRate)}`);
  }
  const steps = partial.steps ?? REFERENCE_CONFIG.steps;
  if (!Number.isSafeInteger(steps) || steps < 0) bad(`steps must be an integer >= 0, got ${String(steps)}`);
  const batchSize = partial.batchSize ?? REFERENCE_CONFIG.batchSize;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    bad(`batchSize must be a positive integer, got ${String(batchSize)}`);
  }
  const seed = partial.seed ?? REFERENCE_CONFIG.seed;
  if (!Number.isSafeInteger(seed)) bad(`seed must be an integer, got ${String(seed)}`);
  const config: TrainConfig = { model, optimizer, learningRate, steps, batchSize, seed };
  const extra: {
    modelOptions?: TrainConfig['modelOptions'];
    optimizerConfig?: TrainConfig['optimizerConfig'];
  } = {};
  if (partial.modelOptions && Object.keys(partial.modelOptions).length > 0)
    extra.modelOptions = { ...partial.modelOptions };
  if (partial.optimizerConfig && Object.keys(partial.optimizerConfig).length > 0) {
    if ('learningRate' in partial.optimizerConfig)
      bad('set learningRate in the config, not in optimizerConfig');
    extra.optimizerConfig = { ...partial.optimizerConfig };
  }
  return { ...config, ...extra };
}
