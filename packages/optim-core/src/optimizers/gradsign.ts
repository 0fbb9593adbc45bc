import * as tf from '@tensorflow/tfjs-core';
import { hasGradSignPacked4Kernel, runGradSignPacked4 } from '../kernels/gradsign-packed4.js';
import { fillUniformInt, mulberry32 } from '../rng.js';
import { registerOptimizerClass } from '../serialization.js';
import type { SlotSpec, UpdateInput, UpdateResult } from '../slots.js';
import type { SlotStorage } from '../state/format.js';
import { int8, PackedInt8Storage } from '../state/packed-int8.js';
import { StatefulOptimizer } from '../stateful-optimizer.js';
import { boolean, checkConfig, integer, type OptionChecks, oneOf, positiveFinite } from '../validate.js';

/** One unit of a GradSign counter moves the parameter by this fraction of the learning rate. */
export const COUNTER_SCALE = 1 / 64;

const int = (value: number) => tf.scalar(value, 'int32');

/**
 * The GradSign rule for one tensor. `counts` are int32 values of the int8 counters.
 *
 *     s = grad > 0 ? +1 : -1           (0, -0 and NaN count as -1)
 *     c = c - floor((c + 4) / 8)       (decay 7/8, rounded half up)
 *     c = c + 8 * s                    (stays within [-64, 63])
 *     p = p - lr * c / 64
 */
export function gradSignRule(param: tf.Tensor, grad: tf.Tensor, counts: tf.Tensor, learningRate: number) {
  const sign8 = tf.sub(tf.mul(tf.cast(tf.greater(grad, 0), 'int32'), int(16)), int(8));
  const decayed = tf.sub(counts, tf.floorDiv(tf.add(counts, int(4)), int(8)));
  const next = tf.add(decayed, sign8);
  const step = tf.mul(tf.mul(tf.cast(next, 'float32'), COUNTER_SCALE), learningRate);
  return { param: tf.sub(param, step), counts: next };
}

/** Options of {@link GradSign}; unset ones take `GradSign.defaults`. */
export interface GradSignConfig {
  learningRate?: number;
  /** 'random': counters start uniform in [-64, 63], as in the reference; 'zero': they start at 0. */
  init?: 'random' | 'zero';
  /** Seeds the counter initialisation (mulberry32), consumed in the order variables are first updated. */
  seed?: number;
  /** Use a fused kernel where the backend has one (cpu, wasm); it is bit-identical to the op-composed rule. */
  fused?: boolean;
}

/** GradSign: a sign-based optimizer with one signed byte of state per parameter. */
export class GradSign extends StatefulOptimizer {
  static readonly className = 'gradsign.GradSign';
  /** Every option and its default; 0.003 is the library's default learning rate. */
  static readonly defaults: Readonly<Required<GradSignConfig>> = Object.freeze({
    learningRate: 0.003,
    init: 'random',
    seed: 0,
    fused: true,
  });
  /** The options it accepts, with their checks; the `seed` option makes it a seeded optimizer. */
  static readonly options: OptionChecks<GradSignConfig> = Object.freeze({
    learningRate: positiveFinite,
    init: oneOf('random', 'zero'),
    seed: integer,
    fused: boolean,
  });
  readonly config: Required<GradSignConfig>;
  private readonly random: () => number;
  private readonly slots: readonly SlotSpec[];

  constructor(config: GradSignConfig = {}) {
    const checked = checkConfig('GradSign', config, GradSign.defaults, GradSign.options);
    super(checked.learningRate);
    this.config = checked;
    this.random = mulberry32(checked.seed);
    const counts: SlotSpec = {
      name: 'counts',
      format: int8({ scale: COUNTER_SCALE }),
      init: (param) =>
        checked.init === 'zero'
          ? tf.zeros(param.shape, 'int32')
          : tf.tensor(fillUniformInt(this.random, new Int32Array(param.size), -64, 63), param.shape, 'int32'),
    };
    this.slots = [counts];
  }

  protected slotSpecs(): readonly SlotSpec[] {
    return this.slots;
  }

  protected update({ param, grad, state }: UpdateInput): UpdateResult {
    const next = gradSignRule(param, grad, state.counts!, this.learningRate);
    return { param: next.param, state: { counts: next.counts } };
  }

  protected override fusedUpdate(
    param: tf.Variable,
    grad: tf.Tensor,
    slots: ReadonlyMap<string, SlotStorage>,
  ): boolean {
    const counts = slots.get('counts');
    if (!this.config.fused || !(counts instanceof PackedInt8Storage) || counts.lanes !== 4) return false;
    if (!hasGradSignPacked4Kernel()) return false;
    const next = runGradSignPacked4(param, grad, counts.words, this.learningRate);
    param.assign(next.param);
    counts.words.assign(next.words);
    tf.dispose([next.param, next.words]);
    return true;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.config, learningRate: this.learningRate };
  }
}

registerOptimizerClass(GradSign, { aliases: ['GradSign'] });
