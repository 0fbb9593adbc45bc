// The WebAssembly SIMD GradSign step (src/kernels/gradsign-packed4.wat) behind the wasm `gradsign-simd` fix: bit for
// bit the parameters and packed counters of optim-core's JavaScript kernel (`gradSignPacked4Step`, the fallback),
// on sizes with every remainder of the planar layout, on every timescale and zero-gradient rule, and on gradients
// with 0, -0, NaN and ±Infinity (fast-check); and a GradSign optimizer trains to the same bits with and without it.
import {
  GRADSIGN_PACKED4_KERNEL,
  GRADSIGN_TIMESCALES,
  GradSign,
  gradSignCounters,
  gradSignPacked4Step,
  runGradSignPacked4,
} from '@gradsign/optim-core';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeFixes, installTrainingFixes, selectBackend, uninstallTrainingFixes } from '../src/index.js';
import {
  bytewiseExact,
  GRADSIGN_PACKED4,
  gradSignPacked4SimdFor,
} from '../src/kernels/gradsign-packed4-simd.js';
import { quiet, rng, specialGradients, trainedBits } from './helpers.js';

beforeAll(async () => {
  const s = await selectBackend(['wasm'], { onLog: quiet });
  expect(s.fixes).toContain('gradsign-simd');
  expect(gradSignPacked4SimdFor(tf.backend())).not.toBeNull();
});

afterAll(() => installTrainingFixes('wasm'));

/** Packed words of random counters in [low, high] (planar, 4 lanes), padding lanes zero. */
function words(n: number, low: number, high: number, seed: number): Int32Array {
  const r = rng(seed);
  const m = Math.ceil(n / 4);
  const bytes = new Uint8Array(4 * m);
  for (let i = 0; i < n; i++)
    bytes[4 * (i % m) + Math.floor(i / m)] = (low + Math.floor(r() * (high - low + 1))) & 255;
  return new Int32Array(bytes.buffer);
}

/**
 * One step on n random parameters, special gradients and counters drawn from [low, high], through the kernel tfjs
 * runs (the SIMD one) and through the JavaScript kernel: the same parameter bits and words.
 */
function expectSameBits(
  n: number,
  counters: Parameters<typeof gradSignPacked4Step>[6],
  learningRate: number,
  low: number,
  high: number,
  seed: number,
  paramSpread = 4,
): void {
  const r = rng(seed);
  const param = Float32Array.from({ length: n }, () => (r() - 0.5) * paramSpread);
  const grad = specialGradients(n, seed + 1);
  const packed = words(n, low, high, seed + 2);
  const want = { param: new Float32Array(n), words: new Int32Array(packed.length) };
  gradSignPacked4Step(param, grad, packed, learningRate, want.param, want.words, counters);
  const got = tf.tidy(() => {
    const out = runGradSignPacked4(
      tf.tensor1d(param),
      tf.tensor1d(grad),
      tf.tensor1d(packed, 'int32'),
      learningRate,
      counters,
    );
    return [out.param.dataSync().slice(), out.words.dataSync().slice()] as const;
  });
  expect(new Uint32Array((got[0] as Float32Array).buffer)).toEqual(new Uint32Array(want.param.buffer));
  expect(got[1]).toEqual(want.words);
}

describe('GradSign packed step, SIMD against the JavaScript kernel', () => {
  it('is the kernel optim-core registers, and the one a GradSign step runs', async () => {
    expect(GRADSIGN_PACKED4).toBe(GRADSIGN_PACKED4_KERNEL);
    expect(activeFixes('wasm')).toContain('gradsign-simd');
    const w = tf.variable(tf.ones([10]));
    const opt = new GradSign({ learningRate: 0.1 });
    const info = await tf.profile(() => {
      opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar);
    });
    expect(info.kernelNames).toContain(GRADSIGN_PACKED4);
    opt.dispose();
    w.dispose();
  });

  it('gives the same bits for every size, timescale, zero-gradient rule and learning rate', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 71, max: 5000 })),
        fc.constantFrom(...GRADSIGN_TIMESCALES),
        fc.constantFrom('negative' as const, 'zero' as const),
        // tiny rates whose product with the scale is (2^-140) and is not (1e-40) a float32: the 8-bit loop's one
        // multiplication by scale · lr holds only for the first
        fc.oneof(
          fc.double({ min: 1e-6, max: 10, noNaN: true }),
          fc.constantFrom(0, 1e-3, 3e38, -1e-3, 2 ** -140, 1e-40, 3e-39),
        ),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (n, timescale, zeroGradient, learningRate, seed) => {
          const counters = gradSignCounters(timescale, zeroGradient);
          expectSameBits(n, counters, learningRate, counters.low, counters.high, seed);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('multiplies by scale · lr at once only where that product is a float32 (zero parameters show every bit)', () => {
    const counters = gradSignCounters(8, 'negative');
    for (const learningRate of [2 ** -140, 1e-40, 3e-39, 1.17e-38, 1e-3])
      for (const seed of [1, 2, 3])
        expectSameBits(997, counters, learningRate, counters.low, counters.high, seed, 0);
  });

  it('runs the 8-bit loop exactly where every int8 counter steps to an int8 counter, and the 32-bit one elsewhere', () => {
    for (const t of GRADSIGN_TIMESCALES) {
      const { timescale, increment } = gradSignCounters(t);
      expect(bytewiseExact(timescale, increment)).toBe(true);
    }
    // T = 32, k = 8: 127 - floor(143 / 32) + 8 = 131 leaves int8 (T = 2, k = 65 too); T = 128: beyond the 8-bit
    // loop's shifts (up to 6)
    expect(bytewiseExact(32, 8)).toBe(false);
    expect(bytewiseExact(128, 1)).toBe(false);
    expect(bytewiseExact(2, 65)).toBe(false);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.constantFrom(
          { timescale: 8, increment: 8 },
          { timescale: 4, increment: 16 },
          { timescale: 16, increment: 8 },
          { timescale: 1, increment: 3 },
          { timescale: 32, increment: 8 },
          { timescale: 128, increment: 1 },
          { timescale: 2, increment: 65 },
        ),
        fc.constantFrom('negative' as const, 'zero' as const),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (n, { timescale, increment }, zeroGradient, seed) => {
          // any byte, as a loaded or damaged state may hold, not only the range GradSign keeps counters in
          const counters = { timescale, increment, scale: 2 ** -8, zeroGradient };
          expectSameBits(n, counters, 0.01, -128, 127, seed);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('a GradSign optimizer trains to the same bits with the SIMD kernel and with the JavaScript loop', async () => {
    const train = () => trainedBits(() => new GradSign({ learningRate: 0.01, seed: 3 }), GRADSIGN_PACKED4, 7);
    const simd = await train();
    uninstallTrainingFixes('wasm', ['gradsign-simd']);
    expect(activeFixes('wasm')).not.toContain('gradsign-simd');
    const js = await train();
    installTrainingFixes('wasm');
    expect(activeFixes('wasm')).toContain('gradsign-simd');
    expect(simd).toEqual(js);
  });
});
