// The WebAssembly SIMD Lion step with bf16 momentum (src/kernels/lion-bf16.wat) behind the wasm `lion-simd` fix: bit
// for bit the parameters and packed momentum of optim-lion's JavaScript kernel (`lionBf16Step`, the fallback), on
// sizes with every remainder of the planar layout, random hyperparameters with and without weight decay, any bf16
// pattern (NaN and infinities included; a NaN's payload may differ) and gradients with 0, -0, NaN and ±Infinity
// (fast-check); and a Lion
// optimizer with bf16 momentum trains to the same bits with and without it.
import { LION_BF16_KERNEL, Lion, lionBf16Step } from '@gradsign/optim-lion';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeFixes, installTrainingFixes, selectBackend, uninstallTrainingFixes } from '../src/index.js';
import { LION_BF16, lionBf16SimdFor } from '../src/kernels/lion-bf16-simd.js';
import { quiet, rng, specialGradients, trainedBits } from './helpers.js';

beforeAll(async () => {
  const s = await selectBackend(['wasm'], { onLog: quiet });
  expect(s.fixes).toContain('lion-simd');
  expect(lionBf16SimdFor(tf.backend())).not.toBeNull();
});

afterAll(() => installTrainingFixes('wasm'));

/** Packed words of bf16 momentum (planar, 2 halves): mostly small values, some arbitrary patterns; padding zero. */
function words(n: number, seed: number): Int32Array {
  const r = rng(seed);
  const m = Math.ceil(n / 2);
  const halves = new Uint16Array(2 * m);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    f[0] = (r() - 0.5) * 1e-3;
    halves[2 * (i % m) + Math.floor(i / m)] = r() < 0.05 ? Math.floor(r() * 65536) : bits[0]! >>> 16;
  }
  return new Int32Array(halves.buffer);
}

/**
 * The bf16 halves of packed words, with every NaN pattern replaced by 0x7fc0: a NaN momentum is a NaN in both
 * kernels, but its payload is the engine's choice (wasm keeps payloads; V8's JS canonicalises some NaNs).
 */
function nanAsOne(words: Int32Array): Uint16Array {
  const halves = new Uint16Array(words.slice().buffer);
  for (let i = 0; i < halves.length; i++)
    if ((halves[i]! & 0x7f80) === 0x7f80 && (halves[i]! & 0x7f) !== 0) halves[i] = 0x7fc0;
  return halves;
}

/** One step through the kernel tfjs runs (the SIMD one): the new parameters and words. */
function simdStep(
  param: Float32Array,
  grad: Float32Array,
  packed: Int32Array,
  hyper: Parameters<typeof lionBf16Step>[2],
) {
  return tf.tidy(() => {
    const [p, w] = tf
      .engine()
      .runKernel(
        LION_BF16,
        { param: tf.tensor1d(param), grad: tf.tensor1d(grad), words: tf.tensor1d(packed, 'int32') },
        { hyper } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[];
    return [p!.dataSync().slice(), w!.dataSync().slice()] as const;
  });
}

describe('Lion bf16 step, SIMD against the JavaScript kernel', () => {
  it('is the kernel optim-lion registers, and the one a Lion step with bf16 momentum runs', async () => {
    expect(LION_BF16).toBe(LION_BF16_KERNEL);
    expect(activeFixes('wasm')).toContain('lion-simd');
    const w = tf.variable(tf.ones([5000]));
    const opt = new Lion({ learningRate: 0.1, stateFormat: 'bf16' });
    const info = await tf.profile(() => {
      opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar);
    });
    expect(info.kernelNames).toContain(LION_BF16);
    opt.dispose();
    w.dispose();
  });

  it('gives the same bits for every size and hyperparameters', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 41, max: 5000 })),
        fc.record({
          learningRate: fc.oneof(fc.double({ min: 1e-6, max: 1, noNaN: true }), fc.constant(1e-4)),
          beta1: fc.double({ min: 0, max: 1, noNaN: true }),
          beta2: fc.double({ min: 0, max: 1, noNaN: true }),
          weightDecay: fc.oneof(fc.constant(0), fc.double({ min: 1e-4, max: 1, noNaN: true })),
        }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (n, hyper, seed) => {
          const r = rng(seed);
          const param = Float32Array.from({ length: n }, () => (r() - 0.5) * 4);
          const grad = specialGradients(n, seed + 1);
          const packed = words(n, seed + 2);
          const want = { param: new Float32Array(n), words: new Int32Array(packed.length) };
          lionBf16Step([param, grad, packed], [want.param, want.words], hyper);
          const got = simdStep(param, grad, packed, hyper);
          expect(new Uint32Array((got[0] as Float32Array).buffer)).toEqual(
            new Uint32Array(want.param.buffer),
          );
          expect(nanAsOne(got[1] as Int32Array)).toEqual(nanAsOne(want.words));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rounds exact ties to even, and −0 to +0, in both halves of a word', () => {
    // beta2 = 0.5 and a zero momentum make the new momentum g · 0.5 exactly, so the gradients choose its bits: low 16
    // bits 0x8000 (a tie) under an even and an odd kept half, just below and above the tie, and −0.
    const n = 4096;
    const r = rng(5);
    const g = new Float32Array(n);
    const bits = new Uint32Array(g.buffer);
    const lows = [0x8000, 0x7fff, 0x8001, 0x0000, 0xffff];
    for (let i = 0; i < n; i++) {
      const kept = (0x3f00 + Math.floor(r() * 0x200)) | (r() < 0.5 ? 0x8000 : 0);
      bits[i] = i % 97 === 0 ? 0x80000000 : ((kept << 16) | lows[i % lows.length]!) >>> 0;
    }
    const grad = g.map((x) => x * 2); // halved exactly by (1 − beta2)
    const param = Float32Array.from({ length: n }, () => r() - 0.5);
    const packed = new Int32Array(n / 2);
    // a −0 momentum where the gradient is −0, so the new momentum is −0 · 0.5 + −0 · 0.5 = −0
    const packedHalves = new Uint16Array(packed.buffer);
    for (let i = 0; i < n; i += 97) packedHalves[2 * (i % (n / 2)) + Math.floor(i / (n / 2))] = 0x8000;
    const hyper = { learningRate: 1e-3, beta1: 0.9, beta2: 0.5, weightDecay: 0 };
    const want = { param: new Float32Array(n), words: new Int32Array(n / 2) };
    lionBf16Step([param, grad, packed], [want.param, want.words], hyper);
    const got = simdStep(param, grad, packed, hyper)[1] as Int32Array;
    const halves = new Uint16Array(want.words.buffer);
    // the reference itself: ties went to the even neighbour (a tie under an odd half rounded up)
    const m = n / 2;
    const tieOdd = [...Array(n).keys()].find((i) => i % 97 !== 0 && i % 5 === 0 && (bits[i]! >>> 16) & 1)!;
    expect(halves[2 * (tieOdd % m) + Math.floor(tieOdd / m)]).toBe(((bits[tieOdd]! >>> 16) + 1) & 0xffff);
    expect(halves[0]).toBe(0); // element 0: −0 stored as +0
    expect(new Uint16Array(got.buffer)).toEqual(halves);
  });

  it('a Lion optimizer with bf16 momentum trains to the same bits with the SIMD kernel and with the JavaScript loop', async () => {
    const train = () =>
      trainedBits(
        () => new Lion({ learningRate: 1e-3, weightDecay: 0.1, stateFormat: 'bf16' }),
        LION_BF16,
        11,
      );
    const simd = await train();
    uninstallTrainingFixes('wasm', ['lion-simd']);
    expect(activeFixes('wasm')).not.toContain('lion-simd');
    const js = await train();
    installTrainingFixes('wasm');
    expect(activeFixes('wasm')).toContain('lion-simd');
    expect(simd).toEqual(js);
  });
});
