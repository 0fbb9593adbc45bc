import * as tf from '@tensorflow/tfjs-core';
import type { Mulberry32 } from '../random.js';
import { dropoutMask, uniformArray } from '../random.js';

/** How to run a forward pass. */
export interface ForwardOptions {
  /** Training mode: BatchNorm uses batch statistics (and records them), dropout is active. */
  readonly training: boolean;
  /** The dropout random stream; required in training mode by models with dropout. */
  readonly dropout?: Mulberry32;
  /**
   * Data-parallel training: the input is rows `offset …` of a batch of `total` rows split over replicas. Dropout
   * then draws the whole batch's mask and uses this shard's rows, and BatchNorm sums its statistics over the
   * replicas with `shard.sum`.
   */
  readonly shard?: BatchShard;
}

/** Where one replica's rows sit in the whole batch, and how to add numbers over the replicas. */
export interface BatchShard {
  readonly offset: number;
  readonly total: number;
  /**
   * Adds `values` in place, element-wise, over every replica (each calls it alike and gets the same sums): how
   * layers that couple a batch's rows (BatchNorm) get the whole batch's statistics.
   */
  readonly sum: (values: Float64Array) => void;
}

/** A model tensor as checkpoints and `Model.tensors()` see it: logical name, not the engine's variable name. */
export interface ModelTensor {
  readonly name: string;
  readonly variable: tf.Variable;
  /** Trainable parameters get gradients; buffers (BatchNorm running statistics) do not. */
  readonly trainable: boolean;
}

let instances = 0;

/**
 * The parameters and buffers of one model instance. Each instance prefixes its tfjs variable names with a unique
 * `<kind>#<n>/`, so several models (a sweep, a resumed copy) can live in one engine; checkpoints use the logical
 * names without the prefix.
 */
export class ParamStore {
  readonly prefix: string;
  private readonly entries: ModelTensor[] = [];
  private disposed = false;

  constructor(
    kind: string,
    private readonly rng: Mulberry32,
  ) {
    instances += 1;
    this.prefix = `${kind}#${instances}/`;
  }

  /** A trainable float32 variable with values uniform in [−bound, bound), drawn from the init stream. */
  uniform(name: string, shape: number[], bound: number): tf.Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    return this.add(name, tf.tensor(uniformArray(this.rng, size, bound), shape, 'float32'), true);
  }

  /** A float32 variable filled with `value`. */
  filled(name: string, shape: number[], value: number, trainable: boolean): tf.Variable {
    return this.add(name, tf.fill(shape, value, 'float32'), trainable);
  }

  private add(name: string, initial: tf.Tensor, trainable: boolean): tf.Variable {
    if (this.entries.some((e) => e.name === name)) throw new Error(`duplicate model tensor '${name}'`);
    const variable = tf.variable(initial, trainable, this.prefix + name, 'float32');
    initial.dispose();
    this.entries.push({ name, variable, trainable });
    return variable;
  }

  get tensors(): readonly ModelTensor[] {
    return this.entries;
  }

  /** Disposes every variable of the store; later calls do nothing. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const { variable } of this.entries) variable.dispose();
  }
}

/** PyTorch's default bound for conv and linear weights and biases: 1/√fan_in, with fan_in = c_in·kh·kw. */
export function defaultInitBound(fanIn: number): number {
  return 1 / Math.sqrt(fanIn);
}

export interface PendingStats {
  readonly layer: BatchNorm;
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
}

/**
 * BatchNorm over the channel (last) axis, with PyTorch's semantics: in training, normalise with the biased batch
 * variance and move the running variance towards the unbiased one; in eval, use the running statistics.
 */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(
    store: ParamStore,
    name: string,
    channels: number,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
  ) {
    this.gamma = store.filled(`${name}.weight`, [channels], 1, true);
    this.beta = store.filled(`${name}.bias`, [channels], 0, true);
    this.runningMean = store.filled(`${name}.running_mean`, [channels], 0, false);
    this.runningVar = store.filled(`${name}.running_var`, [channels], 1, false);
  }

  /**
   * Records a training batch's statistics, to move the running ones at the next commit: the mean and the
   * *unbiased* variance, from the biased `variance` over `n` values per channel.
   */
  record(mean: tf.Tensor1D, variance: tf.Tensor1D, n: number, pending: PendingStats[]): void {
    pending.push({
      layer: this,
      mean: tf.keep(mean),
      variance: tf.keep(n > 1 ? tf.mul(variance, n / (n - 1)) : variance),
    });
  }

  /** Eval mode's per-channel scale, γ/√(running variance + eps). */
  evalScale(): tf.Tensor1D {
    return tf.mul(tf.rsqrt(tf.add(this.runningVar, this.eps)), this.gamma);
  }

  /**
   * Normalises `x` ([B, H, W, C]) per channel: in training with the batch statistics (recorded into `pending`),
   * in eval with the running ones; then scales by γ and shifts by β.
   */
  apply(x: tf.Tensor4D, training: boolean, pending: PendingStats[]): tf.Tensor4D {
    const axes = [0, 1, 2];
    if (!training) {
      return tf.add(tf.mul(tf.sub(x, this.runningMean), this.evalScale()), this.beta);
    }
    const mean = tf.mean(x, axes) as tf.Tensor1D;
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), axes) as tf.Tensor1D;
    this.record(mean, variance, x.shape[0] * x.shape[1] * x.shape[2], pending);
    return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, this.eps))), this.gamma), this.beta);
  }
}

/** A classifier of [B, 28, 28, 1] images into 10 classes, built from tfjs-core ops and variables. */
export abstract class Model {
  /** The registered model name ('blog-cnn', 'mlp', ...). */
  abstract readonly kind: string;
  protected readonly store: ParamStore;
  private pending: PendingStats[] = [];

  protected constructor(kind: string, rng: Mulberry32) {
    this.store = new ParamStore(kind, rng);
  }

  /** Logits [B, 10]. In training mode, BatchNorm batch statistics are recorded until {@link commitStatistics}. */
  abstract forward(xs: tf.Tensor4D, options: ForwardOptions): tf.Tensor2D;

  /** Every parameter and buffer, in a fixed order (the initialisation order), under its logical name. */
  tensors(): readonly ModelTensor[] {
    return this.store.tensors;
  }

  /**
   * Why this model cannot train data-parallel on the active backend, or null when it can. Models whose layers
   * couple the rows of a batch (BatchNorm) need those layers to synchronise over the replicas.
   */
  dataParallelProblem(): string | null {
    return null;
  }

  /** The variables that get gradients. */
  trainableVariables(): tf.Variable[] {
    return this.store.tensors.filter((t) => t.trainable).map((t) => t.variable);
  }

  /** The number of trainable parameters (BatchNorm running statistics are not parameters). */
  paramCount(): number {
    return this.trainableVariables().reduce((n, v) => n + v.size, 0);
  }

  /** The prefix of this instance's tfjs variable names. */
  get variablePrefix(): string {
    return this.store.prefix;
  }

  /** Moves the BatchNorm running statistics with the batch statistics recorded by training forwards. */
  commitStatistics(): void {
    const pending = this.pending;
    this.pending = [];
    for (const { layer, mean, variance } of pending) {
      const m = layer.momentum;
      tf.tidy(() => {
        layer.runningMean.assign(tf.add(tf.mul(layer.runningMean, 1 - m), tf.mul(mean, m)));
        layer.runningVar.assign(tf.add(tf.mul(layer.runningVar, 1 - m), tf.mul(variance, m)));
      });
      tf.dispose([mean, variance]);
    }
  }

  /** Drops recorded batch statistics without applying them (after a failed step). */
  discardStatistics(): void {
    for (const { mean, variance } of this.pending) tf.dispose([mean, variance]);
    this.pending = [];
  }

  protected get pendingStats(): PendingStats[] {
    return this.pending;
  }

  /** Frees the model's variables and any batch statistics not yet committed. */
  dispose(): void {
    this.discardStatistics();
    this.store.dispose();
  }
}

/** Runs `fn` in a tidy scope in eval mode (to free intermediates early); in training it must stay on the tape. */
export function stage<T extends tf.Tensor>(training: boolean, fn: () => T): T {
  return training ? fn() : tf.tidy(fn);
}

/** Inverted dropout with a mask drawn from `options.dropout` (training only). */
export function dropout(x: tf.Tensor4D, rate: number, options: ForwardOptions): tf.Tensor4D {
  if (!options.training || rate === 0) return x;
  if (!options.dropout) throw new Error('a training forward pass with dropout needs a dropout random stream');
  const shard = options.shard;
  if (!shard) return tf.mul(x, tf.tensor(dropoutMask(options.dropout, x.size, rate), x.shape, 'float32'));
  // The whole batch's mask, as one replica would draw it, so the split does not change which values drop.
  const perRow = x.size / x.shape[0];
  const mask = dropoutMask(options.dropout, perRow * shard.total, rate);
  const mine = mask.subarray(perRow * shard.offset, perRow * (shard.offset + x.shape[0]));
  return tf.mul(x, tf.tensor(mine, x.shape, 'float32'));
}
