import * as tf from '@tensorflow/tfjs-core';
import { fail } from '../errors.js';
import { registerOptimizerClass } from '../serialization.js';
import type { SlotSpec, UpdateInput, UpdateResult } from '../slots.js';
import { float32 } from '../state/float32.js';
import { StatefulOptimizer } from '../stateful-optimizer.js';
import {
  boolean,
  checkConfig,
  nonNegativeFinite,
  type OptionChecks,
  positiveFinite,
  unitInterval,
} from '../validate.js';

/** The values {@link sgdRule} applies in one step; every field is required (no defaults at this level). */
export interface SgdHyperparameters {
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}

/**
 * SGD with PyTorch's semantics: g += wd·p; buf = momentum·buf + g (buf starts at 0, so the first step gives
 * buf = g); g = nesterov ? g + momentum·buf : buf; p -= lr·g. `buf` is null without momentum.
 */
export function sgdRule(param: tf.Tensor, grad: tf.Tensor, buf: tf.Tensor | null, h: SgdHyperparameters) {
  let g = h.weightDecay !== 0 ? tf.add(grad, tf.mul(param, h.weightDecay)) : grad;
  let nextBuf: tf.Tensor | null = null;
  if (buf) {
    nextBuf = tf.add(tf.mul(buf, h.momentum), g);
    g = h.nesterov ? tf.add(g, tf.mul(nextBuf, h.momentum)) : nextBuf;
  }
  return { param: tf.sub(param, tf.mul(g, h.learningRate)), momentum: nextBuf };
}

/** Options of {@link SGD} (PyTorch's names and semantics); unset ones take `SGD.defaults`. */
export interface SgdConfig {
  learningRate?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/** Stochastic gradient descent; with momentum it keeps four bytes of state per parameter, without none. */
export class SGD extends StatefulOptimizer {
  static readonly className = 'gradsign.SGD';
  /** Every option and its default; 0.01 is the library's default learning rate. */
  static readonly defaults: Readonly<Required<SgdConfig>> = Object.freeze({
    learningRate: 0.01,
    momentum: 0,
    nesterov: false,
    weightDecay: 0,
  });
  /** The options it accepts, with their checks. */
  static readonly options: OptionChecks<SgdConfig> = Object.freeze({
    learningRate: positiveFinite,
    momentum: unitInterval,
    nesterov: boolean,
    weightDecay: nonNegativeFinite,
  });
  readonly config: Required<SgdConfig>;
  private readonly slots: readonly SlotSpec[];

  constructor(config: SgdConfig = {}) {
    const checked = checkConfig('SGD', config, SGD.defaults, SGD.options);
    if (checked.nesterov && checked.momentum === 0)
      fail('invalid-config', 'SGD: nesterov needs a momentum > 0');
    super(checked.learningRate);
    this.config = checked;
    const momentum: SlotSpec = {
      name: 'momentum',
      format: float32,
      init: (p) => tf.zeros(p.shape, 'float32'),
    };
    this.slots = checked.momentum > 0 ? [momentum] : [];
  }

  protected slotSpecs(): readonly SlotSpec[] {
    return this.slots;
  }

  protected update({ param, grad, state }: UpdateInput): UpdateResult {
    const next = sgdRule(param, grad, state.momentum ?? null, {
      ...this.config,
      learningRate: this.learningRate,
    });
    return { param: next.param, state: next.momentum ? { momentum: next.momentum } : {} };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.config, learningRate: this.learningRate };
  }
}

registerOptimizerClass(SGD);
