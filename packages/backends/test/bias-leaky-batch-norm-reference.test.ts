// The BiasLeakyBatchNorm SIMD kernels (src/kernels/bias-leaky-batch-norm.wat) on wasm, in the kernel build under test
// (vitest.config.ts: 'portable' or 'fma'), against a float64 reference: the training forward (output, batch mean
// and variance) and the eval form, within a rounding bound derived below. In the FMA build, f32x4.relaxed_madd
// rounds a·b + c once (fused) or twice (unfused, as the portable build does): never more roundings than the
// portable build, so the one bound serves both.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { biasLeakyAffine, biasLeakyBatchNorm, wasmKernelBuild } from '../src/index.js';
import { KERNELS_UNDER_TEST, randn, useBackend } from './helpers.js';

type S4 = [number, number, number, number];
const U = 2 ** -24;
const SLOPE = 0.2;
const EPS = 1e-5;
/** Positions per float32 partial sum before the kernel folds it into float64 (see the .wat). */
const BLOCK = 64;
const f32 = Math.fround;

/** The kernel's activation, exactly: leakyReLU of the float32 sum x + bias, in float32. */
function activation(x: number, b: number): number {
  const z = f32(x + b);
  return z > 0 ? z : f32(f32(SLOPE) * z);
}

interface Reference {
  y: Float64Array;
  yBound: Float64Array;
  mean: Float64Array;
  meanBound: Float64Array;
  variance: Float64Array;
  varianceBound: Float64Array;
}

/**
 * Training forward in float64 from the kernel's float32 activations a, with per-element error bounds, doubled for
 * the second-order terms:
 * - each channel sum (Σa, Σa²) is float32 partial sums of at most 64 positions, folded into float64: error at most
 *   64·u·Σ|a| (and 64·u·Σa², the square's own rounding included), so the mean is off by dm = 64·u·Σ|a| / n and the
 *   variance E[a²] − m² by dv = 64·u·Σa² / n + 2|m|·dm + dm²;
 * - the scale γ/√(v + ε) by ½·dv/(v + ε) relatively, plus its float32 rounding u;
 * - y = (a − m)·s + β takes three roundings at most (the difference, the product, the sum; fused: two), each within
 *   u of |a − m|·|s| (the sum: of |a − m|·|s| + |β|), plus |s|·(dm + u|m|) from the mean and |a − m|·|Δs|.
 */
function reference(x: Float32Array, shape: S4, bias: Float32Array, gamma: Float32Array, beta: Float32Array) {
  const C = shape[3];
  const n = x.length / C;
  const s1 = new Float64Array(C);
  const s2 = new Float64Array(C);
  const a = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    a[i] = activation(x[i]!, bias[c]!);
    s1[c]! += Math.abs(a[i]!);
    s2[c]! += a[i]! * a[i]!;
  }
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let i = 0; i < x.length; i++) mean[i % C]! += a[i]! / n;
  for (let i = 0; i < x.length; i++) variance[i % C]! += (a[i]! - mean[i % C]!) ** 2 / n;
  const r: Reference = {
    y: new Float64Array(x.length),
    yBound: new Float64Array(x.length),
    mean,
    meanBound: new Float64Array(C),
    variance,
    varianceBound: new Float64Array(C),
  };
  const dm = new Float64Array(C);
  const ds = new Float64Array(C);
  const scale = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const m = mean[c]!;
    dm[c] = (BLOCK * U * s1[c]!) / n;
    const dv = (BLOCK * U * s2[c]!) / n + 2 * Math.abs(m) * dm[c]! + dm[c]! ** 2;
    scale[c] = gamma[c]! / Math.sqrt(variance[c]! + EPS);
    ds[c] = Math.abs(scale[c]!) * ((0.5 * dv) / (variance[c]! + EPS) + U);
    r.meanBound[c] = 2 * (dm[c]! + U * Math.abs(m)) + 1e-30;
    r.varianceBound[c] = 2 * (dv + U * variance[c]!) + 1e-30;
  }
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    const d = a[i]! - mean[c]!;
    const s = Math.abs(scale[c]!);
    r.y[i] = d * scale[c]! + beta[c]!;
    const rounding = U * (3 * Math.abs(d) * s + Math.abs(beta[c]!));
    r.yBound[i] = 2 * (rounding + s * (dm[c]! + U * Math.abs(mean[c]!)) + Math.abs(d) * ds[c]!) + 1e-30;
  }
  return r;
}

/** Largest |got − want| / bound (≤ 1 passes). */
function worst(got: ArrayLike<number>, want: Float64Array, bound: Float64Array): number {
  expect(got.length).toBe(want.length);
  let w = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / bound[i]!;
    w = Math.max(w, Number.isNaN(e) ? Number.POSITIVE_INFINITY : e);
  }
  return w;
}

function inputs(shape: S4, seed: number) {
  const C = shape[3];
  const shifted = (v: Float32Array, by: number) => v.map((t) => t + by);
  return {
    x: shifted(randn(shape, seed), 0.1),
    bias: randn([C], seed + 1, 0.3),
    gamma: shifted(randn([C], seed + 2, 0.2), 1),
    beta: randn([C], seed + 3, 0.3),
  };
}

describe(`BiasLeakyBatchNorm, ${KERNELS_UNDER_TEST.build} kernels, vs a float64 reference`, () => {
  const stats = { y: 0, mean: 0, variance: 0 };
  afterAll(() => {
    console.info(
      `BiasLeakyBatchNorm (${KERNELS_UNDER_TEST.build}): max error ${(stats.y * 100).toFixed(2)}% of the y bound, ` +
        `${(stats.mean * 100).toFixed(2)}% (mean), ${(stats.variance * 100).toFixed(2)}% (variance)`,
    );
  });

  it.each([
    [[4, 6, 5, 8], 10],
    [[32, 7, 7, 32], 20],
    [[2, 28, 28, 32], 30],
    [[3, 5, 5, 4], 40],
  ] as [S4, number][])('training forward, shape %j', async (shape, seed) => {
    await useBackend('wasm');
    expect(wasmKernelBuild(), 'the kernel build under test').toBe(KERNELS_UNDER_TEST.build);
    const v = inputs(shape, seed);
    const ref = reference(v.x, shape, v.bias, v.gamma, v.beta);
    const out = tf.tidy(() => {
      const r = biasLeakyBatchNorm(
        tf.tensor4d(v.x, shape),
        tf.tensor1d(v.bias),
        tf.tensor1d(v.gamma),
        tf.tensor1d(v.beta),
        SLOPE,
        EPS,
      );
      return [r.y.dataSync(), r.mean.dataSync(), r.variance.dataSync()];
    });
    const w = [worst(out[0]!, ref.y, ref.yBound), worst(out[1]!, ref.mean, ref.meanBound)];
    w.push(worst(out[2]!, ref.variance, ref.varianceBound));
    stats.y = Math.max(stats.y, w[0]!);
    stats.mean = Math.max(stats.mean, w[1]!);
    stats.variance = Math.max(stats.variance, w[2]!);
    expect(w[0], 'y error / bound').toBeLessThanOrEqual(1);
    expect(w[1], 'mean error / bound').toBeLessThanOrEqual(1);
    expect(w[2], 'variance error / bound').toBeLessThanOrEqual(1);
  });

  it('eval form (a − m)·s + β with given float32 m and s: three roundings at most, 2·u·(3|a − m||s| + |β|)', async () => {
    await useBackend('wasm');
    const shape: S4 = [8, 9, 9, 16];
    const v = inputs(shape, 50);
    const m = randn([16], 55, 0.3);
    const s = randn([16], 56).map((t) => 0.5 + Math.abs(t));
    const want = new Float64Array(v.x.length);
    const bound = new Float64Array(v.x.length);
    for (let i = 0; i < v.x.length; i++) {
      const c = i % 16;
      const d = activation(v.x[i]!, v.bias[c]!) - m[c]!;
      want[i] = d * s[c]! + v.beta[c]!;
      bound[i] = 2 * U * (3 * Math.abs(d) * s[c]! + Math.abs(v.beta[c]!)) + 1e-30;
    }
    const got = tf.tidy(() =>
      biasLeakyAffine(
        tf.tensor4d(v.x, shape),
        tf.tensor1d(v.bias),
        tf.tensor1d(m),
        tf.tensor1d(s),
        tf.tensor1d(v.beta),
        SLOPE,
      ).dataSync(),
    );
    expect(worst(got, want, bound)).toBeLessThanOrEqual(1);
    // The check can fail: one output off by 1e-5 of its value.
    const wrong = Float32Array.from(got);
    wrong[5] = wrong[5]! * (1 + 1e-5) + 1e-5;
    expect(worst(wrong, want, bound)).toBeGreaterThan(1);
  });
});
