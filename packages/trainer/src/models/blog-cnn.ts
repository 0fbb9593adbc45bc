import {
  BIAS_LEAKY_BATCH_NORM_BACKENDS,
  biasLeakyAffine,
  biasLeakyBatchNorm,
  biasLeakyBatchNormAvailable,
} from '@gradsign/backends/kernels';
import * as tf from '@tensorflow/tfjs-core';
import type { Mulberry32 } from '../random.js';
import { globalMax } from './global-max.js';
import { BatchNorm, defaultInitBound, dropout, type ForwardOptions, Model, stage } from './model.js';

const WIDTH = 32;
const SLOPE = 0.2;
const DROPOUT = 0.1;
const CLASSES = 10;

interface Block {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly bn: BatchNorm;
}

/** Options of {@link BlogCnn}. */
export interface BlogCnnOptions {
  /**
   * Run each block's bias + leakyReLU + BatchNorm as one fused kernel with a hand-derived gradient (default
   * true). It applies on the cpu and wasm backends; elsewhere, and with `false`, the block is composed from
   * tfjs ops. Both compute the same function; their float32 roundings differ slightly.
   */
  readonly fused?: boolean;
}

/**
 * The reference CNN ("blog-cnn", 66,954 parameters). Each block is conv 3×3 "same" with bias → leakyReLU 0.2 →
 * BatchNorm:
 *
 *     block(1) block(32)   28×28 → maxPool 2×2/2 → dropout 0.1
 *     block(32) block(32)  14×14 → maxPool 2×2/2 → dropout 0.1
 *     block(32) block(32)  7×7   → maxPool 3×3/2 valid (PyTorch's adaptive max pool 7→3)
 *     block(32) block(32)  3×3   → global max pool → [B, 32]
 *     linear 32→32, leakyReLU 0.2, linear 32→10
 *
 * Initialisation is PyTorch's default, drawn in module order (conv1, bn1, conv2, …, lin1, lin2): conv and linear
 * weights and biases U(−1/√fan_in, 1/√fan_in); BatchNorm γ = 1, β = 0, running mean 0, running variance 1.
 *
 * On cpu and wasm each block's bias + leakyReLU + BatchNorm is one fused kernel unless `options.fused` is false
 * (`BiasLeakyBatchNorm` of `@gradsign/backends/kernels`).
 */
export class BlogCnn extends Model {
  readonly kind = 'blog-cnn';
  private readonly blocks: Block[] = [];
  private readonly lin1: { weight: tf.Variable; bias: tf.Variable };
  private readonly lin2: { weight: tf.Variable; bias: tf.Variable };
  /** Whether blocks use the fused kernel where the backend has it. */
  readonly fused: boolean;

  constructor(rng: Mulberry32, options: BlogCnnOptions = {}) {
    super('blog-cnn', rng);
    this.fused = options.fused ?? true;
    for (let i = 1; i <= 8; i++) {
      const cin = i === 1 ? 1 : WIDTH;
      const bound = defaultInitBound(cin * 3 * 3);
      const kernel = this.store.uniform(`conv${i}.weight`, [3, 3, cin, WIDTH], bound);
      const bias = this.store.uniform(`conv${i}.bias`, [WIDTH], bound);
      this.blocks.push({ kernel, bias, bn: new BatchNorm(this.store, `bn${i}`, WIDTH) });
    }
    const b1 = defaultInitBound(WIDTH);
    this.lin1 = {
      weight: this.store.uniform('lin1.weight', [WIDTH, WIDTH], b1),
      bias: this.store.uniform('lin1.bias', [WIDTH], b1),
    };
    this.lin2 = {
      weight: this.store.uniform('lin2.weight', [WIDTH, CLASSES], b1),
      bias: this.store.uniform('lin2.bias', [CLASSES], b1),
    };
  }

  override dataParallelProblem(): string | null {
    if (this.fused && biasLeakyBatchNormAvailable()) return null;
    return `data-parallel training of blog-cnn needs its fused BatchNorm kernels, which run on ${BIAS_LEAKY_BATCH_NORM_BACKENDS.join(
      ' and ',
    )} with the fused option on (backend: ${tf.getBackend()}, fused: ${this.fused})`;
  }

  private block(x: tf.Tensor4D, index: number, options: ForwardOptions): tf.Tensor4D {
    const { kernel, bias, bn } = this.blocks[index]!;
    if (this.fused && biasLeakyBatchNormAvailable()) {
      return stage(options.training, () => {
        const conv = tf.conv2d(x, kernel as tf.Tensor4D, 1, 'same');
        if (!options.training) {
          return biasLeakyAffine(conv, bias, bn.runningMean, bn.evalScale(), bn.beta, SLOPE);
        }
        const { shard } = options;
        const { y, mean, variance } = biasLeakyBatchNorm(
          conv,
          bias,
          bn.gamma,
          bn.beta,
          SLOPE,
          bn.eps,
          shard?.sum,
        );
        // The statistics are the whole batch's (in data-parallel training, over all replicas' rows).
        const rows = shard?.total ?? conv.shape[0];
        bn.record(mean, variance, rows * conv.shape[1] * conv.shape[2], this.pendingStats);
        return y;
      });
    }
    if (options.shard && options.training) {
      throw new Error(
        'data-parallel training of blog-cnn needs the fused BatchNorm kernels (cpu or wasm, fused not false)',
      );
    }
    return stage(options.training, () => {
      const conv = tf.add(tf.conv2d(x, kernel as tf.Tensor4D, 1, 'same'), bias) as tf.Tensor4D;
      return bn.apply(tf.leakyRelu(conv, SLOPE), options.training, this.pendingStats);
    });
  }

  forward(xs: tf.Tensor4D, options: ForwardOptions): tf.Tensor2D {
    const t = options.training;
    let x = this.block(xs, 0, options);
    x = this.block(x, 1, options);
    x = stage(t, () => dropout(tf.maxPool(x, 2, 2, 'valid'), DROPOUT, options));
    x = this.block(x, 2, options);
    x = this.block(x, 3, options);
    x = stage(t, () => dropout(tf.maxPool(x, 2, 2, 'valid'), DROPOUT, options));
    x = this.block(x, 4, options);
    x = this.block(x, 5, options);
    x = stage(t, () => tf.maxPool(x, 3, 2, 'valid'));
    x = this.block(x, 6, options);
    x = this.block(x, 7, options);
    return stage(t, () => {
      const pooled = globalMax(x);
      const hidden = tf.leakyRelu(
        tf.add(tf.matMul(pooled, this.lin1.weight as tf.Tensor2D), this.lin1.bias),
        SLOPE,
      );
      return tf.add(tf.matMul(hidden, this.lin2.weight as tf.Tensor2D), this.lin2.bias) as tf.Tensor2D;
    });
  }
}
