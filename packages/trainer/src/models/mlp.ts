import * as tf from '@tensorflow/tfjs-core';
import type { Mulberry32 } from '../random.js';
import { defaultInitBound, type ForwardOptions, Model, stage } from './model.js';

/** A small MLP: flatten 784 → linear 784→hidden → ReLU → linear hidden→10. PyTorch's default initialisation. */
export class Mlp extends Model {
  readonly kind = 'mlp';
  readonly hidden: number;
  private readonly w1: tf.Variable;
  private readonly b1: tf.Variable;
  private readonly w2: tf.Variable;
  private readonly b2: tf.Variable;

  constructor(rng: Mulberry32, hidden = 128) {
    super('mlp', rng);
    if (!Number.isInteger(hidden) || hidden < 1)
      throw new RangeError(`hidden must be a positive integer, got ${hidden}`);
    this.hidden = hidden;
    const inputs = 28 * 28;
    const bound1 = defaultInitBound(inputs);
    this.w1 = this.store.uniform('lin1.weight', [inputs, hidden], bound1);
    this.b1 = this.store.uniform('lin1.bias', [hidden], bound1);
    const bound2 = defaultInitBound(hidden);
    this.w2 = this.store.uniform('lin2.weight', [hidden, 10], bound2);
    this.b2 = this.store.uniform('lin2.bias', [10], bound2);
  }

  forward(xs: tf.Tensor4D, options: ForwardOptions): tf.Tensor2D {
    return stage(options.training, () => {
      const flat = tf.reshape(xs, [xs.shape[0], -1]) as tf.Tensor2D;
      const h = tf.relu(tf.add(tf.matMul(flat, this.w1 as tf.Tensor2D), this.b1));
      return tf.add(tf.matMul(h as tf.Tensor2D, this.w2 as tf.Tensor2D), this.b2) as tf.Tensor2D;
    });
  }
}
