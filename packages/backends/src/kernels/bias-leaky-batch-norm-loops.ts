import { type ReplicaSum, wholeBatchSums } from './replica-sum.js';

/**
 * bias + leakyReLU + BatchNorm as JavaScript loops over float32 arrays (NHWC, channels last): what the
 * `BiasLeakyBatchNorm` kernels run on cpu, and on wasm where the SIMD module cannot (see bias-leaky-batch-norm.ts
 * for the formulas). Statistics and gradient sums accumulate in float64.
 */

/** The kernels' attributes: leakyReLU's slope, BatchNorm's eps and, in data-parallel training, the replica sum. */
export interface BlockAttrs {
  readonly slope: number;
  readonly eps: number;
  readonly sum?: ReplicaSum;
}

/**
 * Training forward. Outputs y (like x), the batch mean and the biased batch variance (both [C]). Inside a
 * data-parallel step the statistics are those of the whole batch, summed over the replica group.
 */
export function biasLeakyBatchNormForward(
  x: Float32Array,
  bias: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  channels: number,
  { slope, eps, sum: overReplicas }: BlockAttrs,
  y: Float32Array,
  meanOut: Float32Array,
  varOut: Float32Array,
): void {
  const C = channels;
  const total = x.length;
  const n = total / C;
  const sum = new Float64Array(C);
  const sumSq = new Float64Array(C);
  const b = Float64Array.from(bias);
  // Pass 1: a = leaky(x + bias) (rounded to float32 as the composed ops would store it), with Σa and Σa².
  // y holds a until pass 2.
  for (let base = 0; base < total; base += C) {
    for (let c = 0; c < C; c++) {
      const z = Math.fround(x[base + c]! + b[c]!);
      const a = z > 0 ? z : Math.fround(slope * z);
      y[base + c] = a;
      sum[c] = sum[c]! + a;
      sumSq[c] = sumSq[c]! + a * a;
    }
  }
  // In data-parallel training the statistics are over the whole batch: the sums and counts of all replicas.
  const { sums: global, count } = wholeBatchSums([sum, sumSq], n, overReplicas);
  const mean = new Float64Array(C);
  const scale = new Float64Array(C);
  const shift = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const m = global[c]! / count;
    // Σa² in float64 over at most a few hundred thousand float32 values: the cancellation is harmless here.
    const v = Math.max(global[C + c]! / count - m * m, 0);
    mean[c] = m;
    meanOut[c] = m;
    varOut[c] = v;
    scale[c] = gamma[c]! / Math.sqrt(v + eps);
    shift[c] = beta[c]!;
  }
  // Pass 2: y = γ·(a − μ)/√(σ² + eps) + β.
  for (let base = 0; base < total; base += C) {
    for (let c = 0; c < C; c++) y[base + c] = (y[base + c]! - mean[c]!) * scale[c]! + shift[c]!;
  }
}

/** Training backward: dx (like x), dbias, dgamma and dbeta ([C]). */
export function biasLeakyBatchNormBackward(
  dy: Float32Array,
  x: Float32Array,
  bias: Float32Array,
  gamma: Float32Array,
  meanIn: Float32Array,
  varIn: Float32Array,
  channels: number,
  { slope, eps, sum: overReplicas }: BlockAttrs,
  dx: Float32Array,
  dbias: Float32Array,
  dgamma: Float32Array,
  dbeta: Float32Array,
): void {
  const C = channels;
  const total = x.length;
  const n = total / C;
  const b = Float64Array.from(bias);
  const mean = Float64Array.from(meanIn);
  const inv = new Float64Array(C);
  for (let c = 0; c < C; c++) inv[c] = 1 / Math.sqrt(varIn[c]! + eps);
  const sdy = new Float64Array(C);
  const sdyx = new Float64Array(C);
  // Pass 1: Σdy and Σdy·â.
  for (let base = 0; base < total; base += C) {
    for (let c = 0; c < C; c++) {
      const z = Math.fround(x[base + c]! + b[c]!);
      const a = z > 0 ? z : Math.fround(slope * z);
      const g = dy[base + c]!;
      sdy[c] = sdy[c]! + g;
      sdyx[c] = sdyx[c]! + g * (a - mean[c]!) * inv[c]!;
    }
  }
  // γ's and β's gradients are this replica's share (the trainer sums gradients over replicas); dx needs the
  // whole batch's sums.
  const { sums: global, count } = wholeBatchSums([sdy, sdyx], n, overReplicas);
  const k = new Float64Array(C);
  const m1 = new Float64Array(C);
  const m2 = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    dbeta[c] = sdy[c]!;
    dgamma[c] = sdyx[c]!;
    k[c] = gamma[c]! * inv[c]!;
    m1[c] = global[c]! / count;
    m2[c] = global[C + c]! / count;
  }
  const sdz = new Float64Array(C);
  // Pass 2: dz, and Σdz for the bias.
  for (let base = 0; base < total; base += C) {
    for (let c = 0; c < C; c++) {
      const z = Math.fround(x[base + c]! + b[c]!);
      const a = z > 0 ? z : Math.fround(slope * z);
      const ah = (a - mean[c]!) * inv[c]!;
      const da = k[c]! * (dy[base + c]! - m1[c]! - ah * m2[c]!);
      const dz = Math.fround(z > 0 ? da : slope * da);
      dx[base + c] = dz;
      sdz[c] = sdz[c]! + dz;
    }
  }
  for (let c = 0; c < C; c++) dbias[c] = sdz[c]!;
}

/** Eval forward: y = (leaky(x + bias) − runningMean)·scale + beta, with scale = γ/√(running variance + eps). */
export function biasLeakyAffineForward(
  x: Float32Array,
  bias: Float32Array,
  runningMean: Float32Array,
  scale: Float32Array,
  beta: Float32Array,
  channels: number,
  slope: number,
  y: Float32Array,
): void {
  const C = channels;
  const total = x.length;
  for (let base = 0; base < total; base += C) {
    for (let c = 0; c < C; c++) {
      const z = Math.fround(x[base + c]! + bias[c]!);
      const a = z > 0 ? z : Math.fround(slope * z);
      y[base + c] = (a - runningMean[c]!) * scale[c]! + beta[c]!;
    }
  }
}
