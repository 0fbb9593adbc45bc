// The WebAssembly steps on block-wise 8-bit state (src/kernels/blockwise8.wat) behind the wasm `blockwise8-simd` fix:
// bit for bit the parameters, packed bytes and absmax of the JavaScript kernels they replace (optim-core's
// `adamBlockwise8Step`, optim-lion's `lionBlockwise8Step`), on sizes with every remainder of the planar layout and
// of the block, random block sizes, linear codes of any level count and lookup codes of any size (random values,
// and bitsandbytes' dynamic maps), random hyperparameters with and without weight decay, arbitrary stored bytes and
// absmax (0 and NaN included), and gradients with 0, -0, NaN and ±Infinity or finite ones (fast-check; finite
// gradients leave most blocks' absmax finite, where the encoder takes its fast paths). A NaN absmax is compared
// as NaN (its payload is the engine's choice). Adam8bit and Lion with int8 momentum train to the same bits with and
// without the fix.
import { Adam8bit, DYNAMIC_SIGNED, DYNAMIC_UNSIGNED } from '@gradsign/optim-adam8bit';
import {
  ADAM_BLOCKWISE8_KERNEL,
  adamBlockwise8Step,
  adamConstants,
  type BlockwiseCode,
  blockwise8Codec,
  linearCode,
  lookupCode,
} from '@gradsign/optim-core';
import { LION_BLOCKWISE8_KERNEL, Lion, lionBlockwise8Step, lionConstants } from '@gradsign/optim-lion';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeFixes, installTrainingFixes, selectBackend, uninstallTrainingFixes } from '../src/index.js';
import { ADAM_BLOCKWISE8, blockwise8SimdFor, LION_BLOCKWISE8 } from '../src/kernels/blockwise8-simd.js';
import { quiet, rng, specialGradients, trainedBits } from './helpers.js';

beforeAll(async () => {
  const s = await selectBackend(['wasm'], { onLog: quiet });
  expect(s.fixes).toContain('blockwise8-simd');
  expect(blockwise8SimdFor(tf.backend())).not.toBeNull();
});

afterAll(() => installTrainingFixes('wasm'));

/** A code: linear with 1 … 127 levels, a lookup code of 2 … 256 random values (signed or not), or a dynamic map. */
const codes = fc.oneof(
  fc.integer({ min: 1, max: 127 }).map((levels) => linearCode(levels) as BlockwiseCode),
  fc
    .record({
      size: fc.integer({ min: 2, max: 256 }),
      signed: fc.boolean(),
      seed: fc.integer({ min: 0, max: 1e9 }),
    })
    .map(({ size, signed, seed }) => {
      const r = rng(seed);
      const values = new Set<number>();
      while (values.size < size) values.add(Math.fround(signed ? 2 * r() - 1 : r() ** 3));
      return lookupCode('random', [...values]) as BlockwiseCode;
    }),
  fc.constantFrom(DYNAMIC_SIGNED as BlockwiseCode, DYNAMIC_UNSIGNED as BlockwiseCode),
  // a midpoint at +0 (which t orders apart from −0 values), and buckets holding several midpoints (no fast table)
  fc.constantFrom(
    lookupCode('zero-midpoint', [-1, -0.5, 0.5, 1]) as BlockwiseCode,
    lookupCode('crowded', [
      -1,
      0.1,
      ...Array.from({ length: 6 }, (_, i) => 0.1 + (i + 1) * 2 ** -27),
      1,
    ]) as BlockwiseCode,
  ),
);

/**
 * Gradients with 0, −0, NaN and ±Infinity, or (finite) only 0, −0 and finite values: then most blocks have a
 * finite absmax, where the encoder takes its fast paths.
 */
const gradientsOf = (n: number, seed: number, finite: boolean) =>
  specialGradients(n, seed).map((g) => (finite && !Number.isFinite(g) ? 1e-3 : g));

/**
 * Packed state of n elements in blocks: random bytes (a few zero blocks), absmax mostly small, some 0 and NaN; in
 * `spare` more words than the n elements need (the lanes then start further apart, and the last ones hold no element).
 */
function state(n: number, blockSize: number, seed: number, spare = 0) {
  const r = rng(seed);
  const words = Math.ceil(n / 4) + spare;
  const bytes = new Uint8Array(4 * words);
  for (let i = 0; i < n; i++) bytes[4 * (i % words) + Math.floor(i / words)] = Math.floor(r() * 256);
  const absmax = Float32Array.from({ length: Math.ceil(n / blockSize) }, () => {
    const u = r();
    return u < 0.05 ? 0 : u < 0.08 ? Number.NaN : r() * 1e-2;
  });
  return { words: new Int32Array(bytes.buffer), absmax };
}

/** Float32 bits, every NaN as 0x7fc00000. */
function bits(a: Float32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  const view = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < a.length; i++) out[i] = Number.isNaN(a[i]!) ? 0x7fc00000 : view[i]!;
  return out;
}

/** Runs kernel `name` on the wasm backend and returns its outputs' values. */
function run(name: string, inputs: Record<string, Float32Array | Int32Array>, attrs: object) {
  return tf.tidy(() => {
    const ts = Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [
        k,
        tf.tensor1d(v, v instanceof Int32Array ? 'int32' : 'float32'),
      ]),
    );
    const outs = tf.engine().runKernel(name, ts, attrs as tf.NamedAttrMap) as tf.Tensor[];
    return outs.map((t) => t.dataSync().slice() as Float32Array | Int32Array);
  });
}

const sizes = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 41, max: 6000 }));
/** Words beyond those the elements need: mostly none. */
const spares = fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, fc.integer({ min: 1, max: 700 }));
const blockSizes = fc.oneof(
  fc.integer({ min: 1, max: 9 }),
  fc.constantFrom(64, 256, 2048),
  fc.integer({ min: 10, max: 700 }),
);

describe('steps on block-wise 8-bit state, WebAssembly against the JavaScript kernels', () => {
  it('are the kernels optim-core and optim-lion register, and the ones Adam8bit and int8 Lion run', async () => {
    expect(ADAM_BLOCKWISE8).toBe(ADAM_BLOCKWISE8_KERNEL);
    expect(LION_BLOCKWISE8).toBe(LION_BLOCKWISE8_KERNEL);
    expect(activeFixes('wasm')).toContain('blockwise8-simd');
    for (const [opt, kernel] of [
      [new Adam8bit({ learningRate: 0.1 }), ADAM_BLOCKWISE8],
      [new Lion({ learningRate: 0.1 }), LION_BLOCKWISE8],
    ] as const) {
      const w = tf.variable(tf.ones([5000]));
      const info = await tf.profile(() => {
        opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar);
      });
      expect(info.kernelNames).toContain(kernel);
      opt.dispose();
      w.dispose();
    }
  });

  it('Adam gives the same bits for every size, block size, codes and hyperparameters', () => {
    fc.assert(
      fc.property(
        sizes,
        blockSizes,
        codes,
        codes,
        fc.record({
          learningRate: fc.double({ min: 1e-6, max: 1, noNaN: true }),
          beta1: fc.double({ min: 0, max: 0.999, noNaN: true }),
          beta2: fc.double({ min: 0, max: 0.9999, noNaN: true }),
          epsilon: fc.oneof(fc.constant(1e-8), fc.double({ min: 1e-12, max: 1e-2, noNaN: true })),
          weightDecay: fc.oneof(fc.constantFrom(0, 1e-320), fc.double({ min: 1e-4, max: 1, noNaN: true })),
          decoupledWeightDecay: fc.boolean(),
        }),
        fc.integer({ min: 1, max: 10000 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.boolean(),
        spares,
        (n, blockSize, mCode, vCode, hyper, step, seed, finite, spare) => {
          const r = rng(seed);
          const param = Float32Array.from({ length: n }, () => (r() - 0.5) * 4);
          const grad = gradientsOf(n, seed + 1, finite);
          const m = state(n, blockSize, seed + 2, spare);
          const v = state(n, blockSize, seed + 3, spare);
          const attrs = {
            constants: adamConstants(hyper, step),
            blockSize,
            mCodec: blockwise8Codec(mCode)!,
            vCodec: blockwise8Codec(vCode)!,
          };
          const want = [
            new Float32Array(n),
            new Int32Array(m.words.length),
            new Float32Array(m.absmax.length),
            new Int32Array(v.words.length),
            new Float32Array(v.absmax.length),
          ];
          adamBlockwise8Step([param, grad, m.words, m.absmax, v.words, v.absmax], want, attrs);
          const got = run(
            ADAM_BLOCKWISE8,
            { param, grad, mWords: m.words, mAbsmax: m.absmax, vWords: v.words, vAbsmax: v.absmax },
            attrs,
          );
          expect(new Uint32Array(got[0]!.buffer)).toEqual(new Uint32Array(want[0]!.buffer));
          expect(got[1]).toEqual(want[1]);
          expect(bits(got[2] as Float32Array)).toEqual(bits(want[2] as Float32Array));
          expect(got[3]).toEqual(want[3]);
          expect(bits(got[4] as Float32Array)).toEqual(bits(want[4] as Float32Array));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('Lion gives the same bits for every size, block size, code and hyperparameters', () => {
    fc.assert(
      fc.property(
        sizes,
        blockSizes,
        codes,
        fc.record({
          // (0, a negative and an infinite rate reach the general loop, which takes sign(c) · lr as a product)
          learningRate: fc.oneof(
            { arbitrary: fc.double({ min: 1e-6, max: 1, noNaN: true }), weight: 4 },
            fc.constantFrom(0, -0.01, Number.POSITIVE_INFINITY),
          ),
          beta1: fc.double({ min: 0, max: 1, noNaN: true }),
          // β2 = 1 carries the decoded momentum unchanged into the new absmax and codes, so every bit of the
          // decode shows (elsewhere the gradient's share mostly hides the decode's last bits)
          beta2: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
          weightDecay: fc.oneof(fc.constant(0), fc.double({ min: 1e-4, max: 1, noNaN: true })),
        }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.boolean(),
        spares,
        (n, blockSize, code, hyper, seed, finite, spare) => {
          const r = rng(seed);
          const param = Float32Array.from({ length: n }, () => (r() - 0.5) * 4);
          const grad = gradientsOf(n, seed + 1, finite);
          const m = state(n, blockSize, seed + 2, spare);
          const attrs = { constants: lionConstants(hyper), blockSize, codec: blockwise8Codec(code)! };
          const want = [
            new Float32Array(n),
            new Int32Array(m.words.length),
            new Float32Array(m.absmax.length),
          ];
          lionBlockwise8Step([param, grad, m.words, m.absmax], want, attrs);
          const got = run(LION_BLOCKWISE8, { param, grad, words: m.words, absmax: m.absmax }, attrs);
          expect(new Uint32Array(got[0]!.buffer)).toEqual(new Uint32Array(want[0]!.buffer));
          expect(got[1]).toEqual(want[1]);
          expect(bits(got[2] as Float32Array)).toEqual(bits(want[2] as Float32Array));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("Lion's regular blocks give the same bits for every linear code, unit betas and edge learning rates", () => {
    // Blocks of 256 in one lane (the kernel's own loops), random bytes (many outside a small code's range, which
    // decode to 0), β1 = β2 = 1 so that every bit of the decoded momentum reaches the outputs, parameters with ±0
    // and gradients with 0 and NaN (c = 0 or NaN, where sign(c) · lr is 0 · lr).
    const n = 4096;
    const r = rng(7);
    const param = Float32Array.from({ length: n }, (_, i) =>
      i % 7 === 0 ? 0 : i % 7 === 1 ? -0 : r() - 0.5,
    );
    const grad = gradientsOf(n, 8, false);
    const m = state(n, 256, 9);
    const rates = [1e-3, 0, -0.01, Number.POSITIVE_INFINITY];
    for (let levels = 1; levels <= 127; levels++) {
      const learningRate = rates[levels % rates.length]!;
      const hyper = { learningRate, beta1: 1, beta2: 1, weightDecay: levels % 2 === 0 ? 0 : 0.1 };
      const attrs = {
        constants: lionConstants(hyper),
        blockSize: 256,
        codec: blockwise8Codec(linearCode(levels))!,
      };
      const want = [new Float32Array(n), new Int32Array(m.words.length), new Float32Array(m.absmax.length)];
      lionBlockwise8Step([param, grad, m.words, m.absmax], want, attrs);
      const got = run(LION_BLOCKWISE8, { param, grad, words: m.words, absmax: m.absmax }, attrs);
      expect(new Uint32Array(got[0]!.buffer), `levels ${levels}`).toEqual(new Uint32Array(want[0]!.buffer));
      expect(got[1], `levels ${levels}`).toEqual(want[1]);
      expect(bits(got[2] as Float32Array), `levels ${levels}`).toEqual(bits(want[2] as Float32Array));
    }
  });

  it('Adam8bit and int8 Lion train to the same bits with the WebAssembly kernel and with the JavaScript loop', async () => {
    const train = async () => [
      await trainedBits(() => new Adam8bit({ learningRate: 1e-2, weightDecay: 0.1 }), ADAM_BLOCKWISE8, 12),
      await trainedBits(() => new Lion({ learningRate: 1e-3, weightDecay: 0.1 }), LION_BLOCKWISE8, 13),
    ];
    const fixed = await train();
    uninstallTrainingFixes('wasm', ['blockwise8-simd']);
    expect(activeFixes('wasm')).not.toContain('blockwise8-simd');
    const js = await train();
    installTrainingFixes('wasm');
    expect(activeFixes('wasm')).toContain('blockwise8-simd');
    expect(fixed).toEqual(js);
  });
});
