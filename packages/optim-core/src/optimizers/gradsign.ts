import * as tf from '@tensorflow/tfjs-core';
import { fail } from '../errors.js';
import { hasGradSignPacked4Kernel, runGradSignPacked4 } from '../kernels/gradsign-packed4.js';
import { fillUniformInt, mulberry32 } from '../rng.js';
import { registerOptimizerClass } from '../serialization.js';
import type { SlotSpec, UpdateInput, UpdateResult } from '../slots.js';
import type { SlotStorage } from '../state/format.js';
import { int8, PackedInt8Storage } from '../state/packed-int8.js';
import { StatefulOptimizer } from '../stateful-optimizer.js';
import {
  boolean,
  type Check,
  checkConfig,
  integer,
  type OptionChecks,
  oneOf,
  positiveFinite,
} from '../validate.js';

/** One unit of a GradSign counter moves the parameter by this fraction of the learning rate (at timescale 8). */
export const COUNTER_SCALE = 1 / 64;

/** The decay timescales GradSign supports: the counter forgets 1/T of itself per step. */
export const GRADSIGN_TIMESCALES = [4, 8, 16] as const;
/** One of {@link GRADSIGN_TIMESCALES}: 4, 8 (the reference) or 16. */
export type GradSignTimescale = (typeof GRADSIGN_TIMESCALES)[number];

/** How a zero gradient (0, -0, NaN) pushes the counter: as -1 (the reference) or not at all. */
export type ZeroGradient = 'negative' | 'zero';

/** The integer constants of the GradSign rule: see {@link gradSignCounters}. */
export interface GradSignCounters {
  /** T: the counter decays by floor((c + T/2) / T) a step. */
  readonly timescale: GradSignTimescale;
  /** k: a gradient of sign s adds k·s. */
  readonly increment: number;
  /** 1/(kT): the parameter moves by lr · c · scale, so c · scale is the sign EMA in [-1, 1). */
  readonly scale: number;
  /** The bottom of the counter range, -kT. Counters that start in the range stay in it; random ones start uniform. */
  readonly low: number;
  /** The top of the counter range, kT - 1. */
  readonly high: number;
  readonly zeroGradient: ZeroGradient;
}

/**
 * The counter constants for timescale T. One step is `c' = c - floor((c + T/2) / T) + k·s`: an EMA of k·T·s with
 * decay 1 - 1/T, rounded half up, so the parameter moves by lr · c / (kT) and the learning rate means the same at
 * every T.
 *
 * - Range. `d(c) = c - floor((c + T/2) / T)` is non-decreasing in c, so [L, H] is closed under every sign sequence
 *   once its ends are: d(H) + k <= H and d(L) - k >= L. With H = kT - 1 and L = -kT both hold with equality
 *   (floor(k + (T/2 - 1)/T) = k, floor(-k + 1/2) = -k), so counters starting in [-kT, kT - 1] stay there, and
 *   kT <= 128 keeps that inside int8. The same two inequalities at H = 127, L = -128 hold whenever kT <= 128
 *   (floor(127/T + 1/2) = 128/T >= k and floor(-128/T + 1/2) = -128/T <= -k, as T divides 128), so a counter
 *   starting anywhere in int8 stays in int8.
 * - Steady state. Under a constant sign the counter stops at the fixed point where the decay equals k, within T/2
 *   of ±kT: kT is the part of the range it uses. The reference (T = 8, k = 8) uses kT = 64, half of int8.
 * - Precision. Rounding the decay costs up to half a unit a step against a push of k units, and counters within
 *   ±T/2 do not decay at all: the dead zone is 1/(2k) of the range. The reference's k = 8 makes it 1/16.
 *
 * So k = max(64/T, 8): the reference's range (kT = 64) unless that would make the rounding coarser than the
 * reference's (k < 8), and kT <= 128 for int8. T = 4: k = 16, scale 1/64, [-64, 63]; T = 8: k = 8, scale 1/64,
 * [-64, 63] (the reference); T = 16: k = 8, scale 1/128, [-128, 127] (all of int8).
 */
export function gradSignCounters(
  timescale: GradSignTimescale = 8,
  zeroGradient: ZeroGradient = 'negative',
): GradSignCounters {
  const increment = Math.max(64 / timescale, 8);
  const span = increment * timescale;
  return { timescale, increment, scale: 1 / span, low: -span, high: span - 1, zeroGradient };
}

/** The reference rule's constants: T = 8, k = 8, scale 1/64, a zero gradient counted as -1. */
export const REFERENCE_COUNTERS: GradSignCounters = Object.freeze(gradSignCounters());

const int = (value: number) => tf.scalar(value, 'int32');

/**
 * The GradSign rule for one tensor. `counts` are int32 values of the int8 counters. With the reference constants:
 *
 *     s = grad > 0 ? +1 : -1           (0, -0 and NaN count as -1; zeroGradient 'zero': they count as 0)
 *     c = c - floor((c + 4) / 8)       (decay 7/8, rounded half up; T/2 and T in general)
 *     c = c + 8 * s                    (stays within [-64, 63]; k and [-kT, kT - 1] in general)
 *     p = p - lr * c / 64              (lr · c / (kT) in general)
 */
export function gradSignRule(
  param: tf.Tensor,
  grad: tf.Tensor,
  counts: tf.Tensor,
  learningRate: number,
  counters: GradSignCounters = REFERENCE_COUNTERS,
) {
  const { timescale: t, increment: k } = counters;
  const push =
    counters.zeroGradient === 'negative'
      ? tf.sub(tf.mul(tf.cast(tf.greater(grad, 0), 'int32'), int(2 * k)), int(k))
      : tf.mul(tf.sub(tf.cast(tf.greater(grad, 0), 'int32'), tf.cast(tf.less(grad, 0), 'int32')), int(k));
  const decayed = tf.sub(counts, tf.floorDiv(tf.add(counts, int(t / 2)), int(t)));
  const next = tf.add(decayed, push);
  const step = tf.mul(tf.mul(tf.cast(next, 'float32'), counters.scale), learningRate);
  return { param: tf.sub(param, step), counts: next };
}

/** Options of {@link GradSign}; unset ones take `GradSign.defaults`. */
export interface GradSignConfig {
  learningRate?: number;
  /**
   * 'random': counters start uniform in the timescale's range ([-64, 63] at the reference's 8), as in the
   * reference; 'zero': they start at 0.
   */
  init?: 'random' | 'zero';
  /** Seeds the counter initialisation (mulberry32), consumed in the order variables are first updated. */
  seed?: number;
  /** Decay timescale T (4, 8 or 16; the reference's 8): see {@link gradSignCounters} for k and the scale. */
  timescale?: GradSignTimescale;
  /** A zero gradient counts as -1 ('negative', the reference) or does not push the counter ('zero'). */
  zeroGradient?: ZeroGradient;
  /** Use a fused kernel where the backend has one (cpu, wasm); it is bit-identical to the op-composed rule. */
  fused?: boolean;
}

const timescales: Check = (value, key, where) => {
  if (!GRADSIGN_TIMESCALES.includes(value as GradSignTimescale)) {
    const shown = typeof value === 'string' ? `'${value}'` : String(value);
    fail('invalid-config', `${where}: ${key} must be one of ${GRADSIGN_TIMESCALES.join(', ')}, got ${shown}`);
  }
};

/** GradSign: a sign-based optimizer with one signed byte of state per parameter. */
export class GradSign extends StatefulOptimizer {
  static readonly className = 'gradsign.GradSign';
  /** Every option and its default (the reference rule); 0.003 is the library's default learning rate. */
  static readonly defaults: Readonly<Required<GradSignConfig>> = Object.freeze({
    learningRate: 0.003,
    init: 'random',
    seed: 0,
    timescale: 8,
    zeroGradient: 'negative',
    fused: true,
  });
  /** The options it accepts, with their checks; the `seed` option makes it a seeded optimizer. */
  static readonly options: OptionChecks<GradSignConfig> = Object.freeze({
    learningRate: positiveFinite,
    init: oneOf('random', 'zero'),
    seed: integer,
    timescale: timescales,
    zeroGradient: oneOf('negative', 'zero'),
    fused: boolean,
  });
  readonly config: Required<GradSignConfig>;
  /** The rule's constants for this config's timescale and zero-gradient handling. */
  readonly counters: GradSignCounters;
  private readonly random: () => number;
  private readonly slots: readonly SlotSpec[];

  constructor(config: GradSignConfig = {}) {
    const checked = checkConfig('GradSign', config, GradSign.defaults, GradSign.options);
    super(checked.learningRate);
    this.config = checked;
    this.counters = Object.freeze(gradSignCounters(checked.timescale, checked.zeroGradient));
    this.random = mulberry32(checked.seed);
    const { low, high, scale } = this.counters;
    const counts: SlotSpec = {
      name: 'counts',
      format: int8({ scale }),
      init: (param) =>
        checked.init === 'zero'
          ? tf.zeros(param.shape, 'int32')
          : tf.tensor(
              fillUniformInt(this.random, new Int32Array(param.size), low, high),
              param.shape,
              'int32',
            ),
    };
    this.slots = [counts];
  }

  protected slotSpecs(): readonly SlotSpec[] {
    return this.slots;
  }

  protected update({ param, grad, state }: UpdateInput): UpdateResult {
    const next = gradSignRule(param, grad, state.counts!, this.learningRate, this.counters);
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
    const next = runGradSignPacked4(param, grad, counts.words, this.learningRate, this.counters);
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
