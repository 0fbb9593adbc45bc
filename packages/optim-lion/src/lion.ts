import {
  boolean,
  checkConfig,
  float32,
  nonNegativeFinite,
  nonNegativeInteger,
  type OptionChecks,
  oneOf,
  positiveFinite,
  registerOptimizerClass,
  type SlotFormat,
  type SlotSpec,
  type SlotStorage,
  StatefulOptimizer,
  type UpdateInput,
  type UpdateResult,
  unitInterval,
} from '@gradsign/optim-core';
import * as tf from '@tensorflow/tfjs-core';
import { bf16 } from './bf16.js';
import { int8Blockwise } from './int8-blockwise.js';
import { fusedLion } from './lion-fused.js';

/** The values {@link lionRule} applies in one step; every field is required (no defaults at this level). */
export interface LionHyperparameters {
  learningRate: number;
  beta1: number;
  beta2: number;
  weightDecay: number;
}

/**
 * Lion (Chen et al. 2023), for one tensor:
 *
 *     c = β1·m + (1−β1)·g
 *     p = p·(1 − lr·wd) − lr·sign(c)        (decoupled weight decay; sign(0) = 0)
 *     m = β2·m + (1−β2)·g
 */
export function lionRule(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, h: LionHyperparameters) {
  const c = tf.add(tf.mul(m, h.beta1), tf.mul(grad, 1 - h.beta1));
  const decayed = h.weightDecay !== 0 ? tf.mul(param, 1 - h.learningRate * h.weightDecay) : param;
  const next = tf.sub(decayed, tf.mul(tf.sign(c), h.learningRate));
  const m2 = tf.add(tf.mul(m, h.beta2), tf.mul(grad, 1 - h.beta2));
  return { param: next, m: m2 };
}

/** How Lion stores its momentum. */
export type LionStateFormat = 'float32' | 'bf16' | 'int8-blockwise';

/** Options of {@link Lion}; unset ones take `Lion.defaults`. */
export interface LionConfig {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  weightDecay?: number;
  /** 'int8-blockwise' (default): about 1.016 bytes per parameter; 'bf16': 2; 'float32': 4. */
  stateFormat?: LionStateFormat;
  /** With 'int8-blockwise' or 'bf16', tensors with fewer elements keep float32 momentum (default 4096). */
  minQuantizedSize?: number;
  /**
   * Use the fused step where the backend has it (cpu, wasm) for 'int8-blockwise' and 'bf16' momentum (default
   * true). It is bit-identical to the op-composed rule, which float32 momentum, other backends and `fused: false`
   * take.
   */
  fused?: boolean;
}

/** The slot format for a `stateFormat` choice. */
export function lionStateFormat(format: LionStateFormat, minQuantizedSize = 4096): SlotFormat {
  if (format === 'float32') return float32;
  if (format === 'bf16') return bf16({ minSize: minQuantizedSize });
  return int8Blockwise({ blockSize: 256, minSize: minQuantizedSize });
}

/** Lion: a sign update of an interpolated momentum; one state slot, `m`, in float32, bf16 or block-wise int8. */
export class Lion extends StatefulOptimizer {
  static readonly className: string = 'gradsign.Lion';
  /** Every option and its default; 1e-4 is the library's default learning rate. */
  static readonly defaults: Readonly<Required<LionConfig>> = Object.freeze({
    learningRate: 1e-4,
    beta1: 0.9,
    beta2: 0.99,
    weightDecay: 0,
    stateFormat: 'int8-blockwise',
    minQuantizedSize: 4096,
    fused: true,
  });
  /** The options it accepts, with their checks. */
  static readonly options: OptionChecks<LionConfig> = Object.freeze({
    learningRate: positiveFinite,
    beta1: unitInterval,
    beta2: unitInterval,
    weightDecay: nonNegativeFinite,
    stateFormat: oneOf('float32', 'bf16', 'int8-blockwise'),
    minQuantizedSize: nonNegativeInteger,
    fused: boolean,
  });
  readonly config: Required<LionConfig>;
  private readonly slots: readonly SlotSpec[];

  constructor(config: LionConfig = {}) {
    const type = new.target as typeof Lion;
    const checked = checkConfig(type.name, config, type.defaults, type.options);
    super(checked.learningRate);
    this.config = checked;
    this.slots = [
      {
        name: 'm',
        format: lionStateFormat(checked.stateFormat, checked.minQuantizedSize),
        init: (param) => tf.zeros(param.shape, 'float32'),
      },
    ];
  }

  protected slotSpecs(): readonly SlotSpec[] {
    return this.slots;
  }

  protected update({ param, grad, state }: UpdateInput): UpdateResult {
    const next = lionRule(param, grad, state.m!, { ...this.config, learningRate: this.learningRate });
    return { param: next.param, state: { m: next.m } };
  }

  protected override fusedUpdate(
    param: tf.Variable,
    grad: tf.Tensor,
    slots: ReadonlyMap<string, SlotStorage>,
  ): boolean {
    if (!this.config.fused) return false;
    return fusedLion(param, grad, slots.get('m'), { ...this.config, learningRate: this.learningRate });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.config, learningRate: this.learningRate };
  }
}

registerOptimizerClass(Lion, { aliases: ['Lion'] });
