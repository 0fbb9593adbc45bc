import { COUNTER_SCALE, gradSignRule } from '@gradsign/optim-core';
import { fillUniformInt, mulberry32 } from '@gradsign/optim-core/rng';
import * as tf from '@tensorflow/tfjs-core';
import { TrainerError } from '../errors.js';
import { deriveSeed } from '../random.js';
import type { GradientObserver, ObservedVariable } from './observer.js';
import { sampleIndices, type TensorSample } from './sample.js';

/** Options of {@link SignConfidenceRecorder}. */
export interface SignConfidenceOptions {
  /** Adam's β1 and β2 (those of the run, so that the recorder's moments are the optimizer's own). */
  readonly beta1: number;
  readonly beta2: number;
  /** Adam's ε, added after the square root (default 1e-8, PyTorch's). */
  readonly epsilon?: number;
  /** Parameters sampled, shared equally over the trainable tensors (default 4096). */
  readonly sampleSize?: number;
  /** Seeds the sample and the random initial counters (default 0). */
  readonly seed?: number;
  /** Steps per window of the report (default 50). */
  readonly window?: number;
  /** The shadow counters' start: uniform in [-64, 63] as GradSign's reference (default), or 0. */
  readonly counterInit?: 'random' | 'zero';
  /** The layer a tensor belongs to (default: its name up to the first '.', so `conv1.weight` → `conv1`). */
  readonly layerOf?: (tensor: string) => string;
}

/** The two measures of one layer (or of all sampled parameters: layer `all`) over some steps. */
export interface SignConfidenceRow {
  readonly layer: string;
  /** Pearson correlation of the normalised Adam update u = m̂/(√v̂+ε) with the counter value c/64, mean over steps. */
  readonly correlation: number;
  /** Σ|u|·[sign(u) = sign(c)] / Σ|u|, mean over steps (a counter of 0 agrees with no sign). */
  readonly weightedAgreement: number;
  /** Steps averaged (a step where a correlation is undefined, e.g. constant values, is left out of it). */
  readonly steps: number;
}

/** What {@link SignConfidenceRecorder.report} returns. */
export interface SignConfidenceReport {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly seed: number;
  readonly window: number;
  /** Steps observed. */
  readonly steps: number;
  /** Each layer's sampled parameters and tensors, in model order; `all` is every sampled parameter. */
  readonly layers: readonly {
    readonly layer: string;
    readonly samples: number;
    readonly tensors: readonly string[];
  }[];
  /** Per layer, over the whole run. */
  readonly overall: readonly SignConfidenceRow[];
  /** Per layer and window of `window` steps (`from`…`to`, trainer steps, inclusive). */
  readonly windows: readonly (SignConfidenceRow & { readonly from: number; readonly to: number })[];
}

/** The stream of the shadow counters' initial values ({@link deriveSeed}); the sample uses `seed` itself. */
const STREAM_COUNTERS = 3;

/** The layer name of every sampled parameter in `all`. */
export const ALL_LAYERS = 'all';

/**
 * Measures how well GradSign's sign EMA predicts Adam's update during a run, without touching it: for a fixed random
 * sample of parameters it keeps float64 Adam moments (bias-corrected, ε after the square root) and shadow GradSign
 * counters updated with the reference rule (`gradSignRule` of @gradsign/optim-core) from the same gradients, and
 * after every step, per layer, the Pearson correlation of u = m̂/(√v̂+ε) with c/64 and the sign agreement weighted by
 * |u|. Pass it as `TrainerOptions.observe`; each step it gathers the sampled gradients and the new counters with one
 * small read. During an Adam run with the same β's and ε its moments are the optimizer's own.
 */
export class SignConfidenceRecorder implements GradientObserver {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly sampleSize: number;
  private readonly seed: number;
  private readonly window: number;
  private readonly counterInit: 'random' | 'zero';
  private readonly layerOf: (tensor: string) => string;
  private samples: (TensorSample & { key: string })[] | null = null;
  private layers: { layer: string; tensors: string[]; members: Int32Array }[] = [];
  private m = new Float64Array(0);
  private v = new Float64Array(0);
  private counts: Int32Array = new Int32Array(0);
  private t = 0;
  private readonly observedSteps: number[] = [];
  /** Per step, per layer (layers in order, then `all`): [correlation, weighted agreement]. */
  private readonly perStep: Float64Array[] = [];

  constructor(options: SignConfidenceOptions) {
    const fail = (message: string): never => {
      throw new TrainerError('invalid-config', `SignConfidenceRecorder: ${message}`);
    };
    for (const key of ['beta1', 'beta2'] as const) {
      const b = options[key];
      if (typeof b !== 'number' || !(b >= 0 && b < 1)) fail(`${key} must be in [0, 1), got ${String(b)}`);
    }
    this.beta1 = options.beta1;
    this.beta2 = options.beta2;
    this.epsilon = options.epsilon ?? 1e-8;
    if (!(this.epsilon >= 0 && Number.isFinite(this.epsilon)))
      fail(`epsilon must be finite and >= 0, got ${this.epsilon}`);
    this.sampleSize = options.sampleSize ?? 4096;
    if (!Number.isSafeInteger(this.sampleSize) || this.sampleSize < 1)
      fail(`sampleSize must be a positive integer, got ${String(options.sampleSize)}`);
    this.seed = options.seed ?? 0;
    if (!Number.isSafeInteger(this.seed)) fail(`seed must be an integer, got ${String(options.seed)}`);
    this.window = options.window ?? 50;
    if (!Number.isSafeInteger(this.window) || this.window < 1)
      fail(`window must be a positive integer, got ${String(options.window)}`);
    this.counterInit = options.counterInit ?? 'random';
    this.layerOf = options.layerOf ?? ((name) => name.split('.')[0]!);
  }

  async onGradients(
    step: number,
    gradients: tf.NamedTensorMap,
    variables: readonly ObservedVariable[],
  ): Promise<void> {
    const samples = this.samples ?? this.setUp(variables);
    const n = this.counts.length;
    const read = tf.tidy(() => {
      const parts = samples
        .filter((s) => s.indices.length > 0)
        .map((s) => tf.gather(tf.reshape(gradients[s.key]!, [-1]), tf.tensor1d(s.indices, 'int32')));
      const g = parts.length === 1 ? parts[0]! : tf.concat(parts);
      const next = gradSignRule(g, g, tf.tensor1d(this.counts, 'int32'), 0).counts;
      return tf.concat([g, tf.cast(next, 'float32')]);
    });
    let values: Float32Array;
    try {
      values = (await read.data()) as Float32Array;
    } finally {
      read.dispose();
    }
    this.t += 1;
    const { beta1: b1, beta2: b2, epsilon } = this;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const u = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const g = values[i]!;
      this.m[i] = b1 * this.m[i]! + (1 - b1) * g;
      this.v[i] = b2 * this.v[i]! + (1 - b2) * g * g;
      u[i] = this.m[i]! / c1 / (Math.sqrt(this.v[i]! / c2) + epsilon);
      this.counts[i] = values[n + i]!;
    }
    const row = new Float64Array(this.layers.length * 2);
    this.layers.forEach((l, j) => {
      row[2 * j] = pearson(u, this.counts, l.members);
      row[2 * j + 1] = weightedAgreement(u, this.counts, l.members);
    });
    this.observedSteps.push(step);
    this.perStep.push(row);
  }

  /**
   * Every sampled parameter (its tensor's logical name and flat index) with the recorder's state after the last
   * observed step: Adam's moments `m` and `v` (not bias-corrected) and the shadow counter. Empty before the first step.
   */
  sampled(): { tensor: string; index: number; m: number; v: number; counter: number }[] {
    const out: { tensor: string; index: number; m: number; v: number; counter: number }[] = [];
    for (const s of this.samples ?? []) {
      for (const index of s.indices) {
        const i = out.length;
        out.push({ tensor: s.name, index, m: this.m[i]!, v: this.v[i]!, counter: this.counts[i]! });
      }
    }
    return out;
  }

  /** The measures so far, per layer, over the run and per window. */
  report(): SignConfidenceReport {
    const overall = this.layers.map((l, j) => this.row(l.layer, j, 0, this.perStep.length));
    const windows: SignConfidenceReport['windows'][number][] = [];
    for (let start = 0; start < this.perStep.length; ) {
      const from = this.observedSteps[start]!;
      const to = Math.ceil(from / this.window) * this.window;
      let end = start;
      while (end < this.perStep.length && this.observedSteps[end]! <= to) end++;
      const last = this.observedSteps[end - 1]!;
      this.layers.forEach((l, j) => {
        windows.push({ from, to: last, ...this.row(l.layer, j, start, end) });
      });
      start = end;
    }
    return {
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      seed: this.seed,
      window: this.window,
      steps: this.perStep.length,
      layers: this.layers.map((l) => ({ layer: l.layer, samples: l.members.length, tensors: l.tensors })),
      overall,
      windows,
    };
  }

  private row(layer: string, j: number, start: number, end: number): SignConfidenceRow {
    const mean = (k: number) => {
      let sum = 0;
      let count = 0;
      for (let s = start; s < end; s++) {
        const x = this.perStep[s]![2 * j + k]!;
        if (Number.isFinite(x)) {
          sum += x;
          count += 1;
        }
      }
      return { value: count ? sum / count : Number.NaN, count };
    };
    const r = mean(0);
    return { layer, correlation: r.value, weightedAgreement: mean(1).value, steps: r.count };
  }

  /** Draws the sample and starts the moments and counters (at the first observed step). */
  private setUp(variables: readonly ObservedVariable[]): (TensorSample & { key: string })[] {
    const drawn = sampleIndices(
      variables.map((v) => ({ name: v.name, size: v.variable.size })),
      this.sampleSize,
      this.seed,
    );
    const samples = drawn.map((s, i) => ({ ...s, key: variables[i]!.variable.name }));
    const total = samples.reduce((k, s) => k + s.indices.length, 0);
    this.m = new Float64Array(total);
    this.v = new Float64Array(total);
    this.counts =
      this.counterInit === 'zero'
        ? new Int32Array(total)
        : fillUniformInt(mulberry32(deriveSeed(this.seed, STREAM_COUNTERS)), new Int32Array(total), -64, 63);
    const byLayer = new Map<string, { tensors: string[]; members: number[] }>();
    let offset = 0;
    for (const s of samples) {
      const layer = this.layerOf(s.name);
      const entry = byLayer.get(layer) ?? { tensors: [], members: [] };
      byLayer.set(layer, entry);
      entry.tensors.push(s.name);
      for (let k = 0; k < s.indices.length; k++) entry.members.push(offset + k);
      offset += s.indices.length;
    }
    this.layers = [...byLayer]
      .filter(([, e]) => e.members.length > 0)
      .map(([layer, e]) => ({ layer, tensors: e.tensors, members: Int32Array.from(e.members) }));
    this.layers.push({
      layer: ALL_LAYERS,
      tensors: samples.map((s) => s.name),
      members: Int32Array.from({ length: total }, (_, i) => i),
    });
    this.samples = samples;
    return samples;
  }
}

/** Pearson correlation of `x` and `c`·COUNTER_SCALE over `members` (NaN when either is constant). */
export function pearson(x: Float64Array, c: Int32Array, members: Int32Array): number {
  const n = members.length;
  let mx = 0;
  let mc = 0;
  for (const i of members) {
    mx += x[i]!;
    mc += c[i]! * COUNTER_SCALE;
  }
  mx /= n;
  mc /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const i of members) {
    const dx = x[i]! - mx;
    const dc = c[i]! * COUNTER_SCALE - mc;
    sxy += dx * dc;
    sxx += dx * dx;
    syy += dc * dc;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : Number.NaN;
}

/** Σ|x|·[sign(x) = sign(c)] / Σ|x| over `members` (NaN when every x is 0). */
export function weightedAgreement(x: Float64Array, c: Int32Array, members: Int32Array): number {
  let agree = 0;
  let sum = 0;
  for (const i of members) {
    const a = Math.abs(x[i]!);
    sum += a;
    if (Math.sign(x[i]!) === Math.sign(c[i]!)) agree += a;
  }
  return sum > 0 ? agree / sum : Number.NaN;
}
