import * as tf from '@tensorflow/tfjs-core';
import { fusedAdamFloat32 } from '../kernels/adam-float32.js';
import { registerOptimizerClass } from '../serialization.js';
import type { SlotSpec, UpdateInput, UpdateResult } from '../slots.js';
import { float32 } from '../state/float32.js';
import type { SlotFormat, SlotStorage } from '../state/format.js';
import { StatefulOptimizer } from '../stateful-optimizer.js';
import {
  boolean,
  checkConfig,
  nonNegativeFinite,
  type OptionChecks,
  positiveFinite,
  unitInterval,
} from '../validate.js';

/** The values {@link adamRule} applies in one step; every field is required (no defaults at this level). */
export interface AdamHyperparameters {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** true: AdamW (p *= 1 - lr·wd before the step); false: classic L2 (g += wd·p). */
  decoupledWeightDecay: boolean;
}

/** Adam with PyTorch's semantics (bias correction; eps added after the square root). `step` starts at 1. */
export function adamRule(
  param: tf.Tensor,
  grad: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  step: number,
  h: AdamHyperparameters,
) {
  let p = param;
  let g = grad;
  if (h.weightDecay !== 0 && h.decoupledWeightDecay) p = tf.mul(p, 1 - h.learningRate * h.weightDecay);
  if (h.weightDecay !== 0 && !h.decoupledWeightDecay) g = tf.add(g, tf.mul(p, h.weightDecay));
  const m2 = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1));
  const v2 = tf.add(tf.mul(v, h.beta2), tf.mul(tf.mul(g, g), 1 - h.beta2));
  const stepSize = h.learningRate / (1 - h.beta1 ** step);
  const denom = tf.add(tf.div(tf.sqrt(v2), Math.sqrt(1 - h.beta2 ** step)), h.epsilon);
  return { param: tf.sub(p, tf.mul(tf.div(m2, denom), stepSize)), m: m2, v: v2 };
}

/**
 * Options of {@link Adam} and {@link AdamW}, named as in tfjs (`beta1`/`beta2` are PyTorch's `betas`, `epsilon` its
 * `eps`); unset ones take the class's static `defaults`.
 */
export interface AdamConfig {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  /**
   * Use the fused step where the backend has it (cpu, wasm), one pass over the parameter, the gradient and both
   * moments instead of a dozen tfjs ops; the results are the same bits (default true).
   */
  fused?: boolean;
}

/** Storage formats for Adam's moments; a subclass can swap in a quantized format without touching the rule. */
export interface AdamStateFormats {
  m: SlotFormat;
  v: SlotFormat;
}

/** Adam (classic L2 weight decay) with PyTorch's defaults: eps 1e-8. Eight bytes of state per parameter. */
export class Adam extends StatefulOptimizer {
  static readonly className: string = 'gradsign.Adam';
  /** Every option and its default (PyTorch's); 0.001 is the library's default learning rate. */
  static readonly defaults: Readonly<Required<AdamConfig>> = Object.freeze({
    learningRate: 0.001,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: 0,
    fused: true,
  });
  /** The options it accepts, with their checks. */
  static readonly options: OptionChecks<AdamConfig> = Object.freeze({
    learningRate: positiveFinite,
    beta1: unitInterval,
    beta2: unitInterval,
    epsilon: nonNegativeFinite,
    weightDecay: nonNegativeFinite,
    fused: boolean,
  });
  /** Every option of the class (a subclass's own ones too), checked and with defaults filled in. */
  readonly config: Required<AdamConfig>;
  private readonly slots: readonly SlotSpec[];

  /**
   * The class's static `defaults` and `options` decide what it accepts, so a subclass with options of its own
   * (optim-adam8bit's `minQuantizedSize`) declares them there. `formats` overrides the class's `stateFormats`.
   */
  constructor(config: AdamConfig = {}, formats?: AdamStateFormats) {
    const type = new.target as typeof Adam;
    const checked = checkConfig(type.name, config, type.defaults, type.options);
    super(checked.learningRate);
    this.config = checked;
    const { m, v } = formats ?? type.stateFormats(checked);
    const zeros = (param: tf.Variable) => tf.zeros(param.shape, 'float32');
    this.slots = [
      { name: 'm', format: m, init: zeros },
      { name: 'v', format: v, init: zeros },
    ];
  }

  /** How the moments are stored, given the checked config: float32 here; a subclass may choose by its options. */
  static stateFormats(_config: Required<AdamConfig>): AdamStateFormats {
    return { m: float32, v: float32 };
  }

  protected get decoupled(): boolean {
    return false;
  }

  protected slotSpecs(): readonly SlotSpec[] {
    return this.slots;
  }

  protected override fusedUpdate(
    param: tf.Variable,
    grad: tf.Tensor,
    slots: ReadonlyMap<string, SlotStorage>,
    step: number,
  ): boolean {
    if (!this.config.fused) return false;
    const hyper = { ...this.config, learningRate: this.learningRate, decoupledWeightDecay: this.decoupled };
    return fusedAdamFloat32(param, grad, slots.get('m'), slots.get('v'), step, hyper);
  }

  protected update({ param, grad, state, step }: UpdateInput): UpdateResult {
    const hyper = { ...this.config, learningRate: this.learningRate, decoupledWeightDecay: this.decoupled };
    const next = adamRule(param, grad, state.m!, state.v!, step, hyper);
    return { param: next.param, state: { m: next.m, v: next.v } };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.config, learningRate: this.learningRate };
  }
}

/** AdamW: Adam with decoupled weight decay, PyTorch's default weightDecay 0.01. */
export class AdamW extends Adam {
  static override readonly className: string = 'gradsign.AdamW';
  static override readonly defaults: Readonly<Required<AdamConfig>> = Object.freeze({
    ...Adam.defaults,
    weightDecay: 0.01,
  });

  protected override get decoupled(): boolean {
    return true;
  }
}

// Models saved by 0.1.0 builds named these 'Adam' and 'AdamW'; 'Adam' is tfjs's own and stays tfjs's.
registerOptimizerClass(Adam);
registerOptimizerClass(AdamW, { aliases: ['AdamW'] });
