import { TrainerError } from '../errors.js';
import { deriveSeed, Mulberry32, STREAM_INIT } from '../random.js';
import { BlogCnn } from './blog-cnn.js';
import { Mlp } from './mlp.js';
import type { Model } from './model.js';

/** Options of {@link createModel}. */
export interface ModelOptions {
  /** The run seed; the initialisation stream is derived from it. */
  readonly seed?: number;
  /** MLP only: hidden units (default 128). */
  readonly hidden?: number;
  /** blog-cnn only: fused bias + leakyReLU + BatchNorm kernels on cpu and wasm (default true). */
  readonly fused?: boolean;
}

/** A built-in model: its name (as `TrainConfig.model` gives it), a description and how to build it. */
export interface ModelEntry {
  readonly name: string;
  readonly description: string;
  /** Builds the model, drawing its initial weights from `rng` (the run's initialisation stream). */
  readonly create: (rng: Mulberry32, options: ModelOptions) => Model;
}

const MODELS: readonly ModelEntry[] = [
  {
    name: 'blog-cnn',
    description: 'the reference CNN: 8 conv blocks (conv 3×3 → leakyReLU → BatchNorm), 66,954 parameters',
    create: (rng, options) => new BlogCnn(rng, { fused: options.fused ?? true }),
  },
  {
    name: 'mlp',
    description: 'MLP 784 → 128 → ReLU → 10 (101,770 parameters)',
    create: (rng, options) => new Mlp(rng, options.hidden ?? 128),
  },
];

/** The built-in models. */
export function listModels(): readonly ModelEntry[] {
  return MODELS;
}

/** Creates a model whose initial weights are a function of `options.seed` alone. */
export function createModel(name: string, options: ModelOptions = {}): Model {
  const entry = MODELS.find((m) => m.name === name);
  if (!entry) {
    throw new TrainerError(
      'unknown-model',
      `unknown model '${name}'; available: ${MODELS.map((m) => m.name).join(', ')}`,
    );
  }
  return entry.create(new Mulberry32(deriveSeed(options.seed ?? 0, STREAM_INIT)), options);
}

export { BlogCnn, type BlogCnnOptions } from './blog-cnn.js';
export { Mlp } from './mlp.js';
export {
  BatchNorm,
  type BatchShard,
  defaultInitBound,
  type ForwardOptions,
  Model,
  type ModelTensor,
  ParamStore,
} from './model.js';
