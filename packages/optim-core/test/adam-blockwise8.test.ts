import { bitsEqual, NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fusedAdamBlockwise8 } from '../src/kernels/adam-blockwise8.js';
import { blockwise8Codec } from '../src/kernels/blockwise8-codec.js';
import { type AdamHyperparameters, adamRule } from '../src/optimizers/adam.js';
import { type BlockwiseCode, blockwise8, linearCode, lookupCode } from '../src/state/blockwise8.js';

const f = Math.fround;

/** Codes: linear ones of any level count, and lookup tables of 2 to 256 arbitrary values in [-1, 1] or [0, 1]. */
const codeArb = (unsignedOnly: boolean): fc.Arbitrary<BlockwiseCode> =>
  fc.oneof(
    fc.integer({ min: 1, max: 127 }).map((levels) => linearCode(levels)),
    fc
      .uniqueArray(
        fc.float({ min: unsignedOnly ? 0 : -1, max: 1, noNaN: true }).map((v) => (v === 0 ? 0 : v)),
        { minLength: 2, maxLength: 256 },
      )
      .map((values) => lookupCode('random', values)),
  );

/** Element values: zeros of both signs, subnormals, tiny and huge magnitudes, values near 1. */
const valueArb = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 1e-40, -3e-39),
  fc.float({ min: f(-1e15), max: f(1e15), noNaN: true }),
  fc.float({ min: -1, max: 1, noNaN: true }),
  fc.float({ min: f(-1e-30), max: f(1e-30), noNaN: true }),
);

const hyperArb: fc.Arbitrary<AdamHyperparameters> = fc.record({
  learningRate: fc.double({ min: 1e-6, max: 1, noNaN: true }),
  beta1: fc.double({ min: 0, max: 0.999, noNaN: true }),
  beta2: fc.double({ min: 0, max: 0.9999, noNaN: true }),
  epsilon: fc.double({ min: 1e-12, max: 1e-3, noNaN: true }),
  // 1e-320 rounds to a float32 0, yet the op path still adds p · 0 (turning a −0 gradient into +0)
  weightDecay: fc.oneof(fc.constantFrom(0, 1e-320), fc.double({ min: 0, max: 0.1, noNaN: true })),
  decoupledWeightDecay: fc.boolean(),
});

const caseArb = fc.integer({ min: 1, max: 700 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    blockSize: fc.constantFrom(1, 2, 3, 7, 64, 256),
    mCode: codeArb(false),
    vCode: codeArb(true),
    param: fc.array(valueArb, { minLength: n, maxLength: n }),
    grad: fc.array(valueArb, { minLength: n, maxLength: n }),
    m: fc.array(valueArb, { minLength: n, maxLength: n }),
    v: fc.array(valueArb, { minLength: n, maxLength: n }),
    step: fc.integer({ min: 1, max: 10_000 }),
    hyper: hyperArb,
  }),
);

const read = (t: tf.Tensor) => t.dataSync() as Float32Array | Int32Array;

describe('fused block-wise 8-bit Adam step against the op-composed rule', () => {
  for (const backend of NODE_BACKENDS) {
    it(`is bit-identical for arbitrary codes, block sizes, sizes and values (${backend})`, async () => {
      await useBackend(backend);
      fc.assert(
        fc.property(caseArb, (c) => {
          const mFormat = blockwise8({ code: c.mCode, blockSize: c.blockSize, minSize: 0 });
          const vFormat = blockwise8({ code: c.vCode, blockSize: c.blockSize, minSize: 0 });
          const p0 = tf.tensor1d(c.param, 'float32');
          const g = tf.tensor1d(c.grad, 'float32');
          const m0 = tf.tensor1d(c.m, 'float32');
          const v0 = tf.tidy(() => tf.abs(tf.tensor1d(c.v, 'float32')));
          const [mA, vA, mB, vB] = [
            mFormat.create(m0),
            vFormat.create(v0),
            mFormat.create(m0),
            vFormat.create(v0),
          ];
          const pA = tf.variable(p0);
          const pB = tf.variable(p0);
          tf.tidy(() => {
            const next = adamRule(pA, g, mA.read(), vA.read(), c.step, c.hyper);
            mA.write(next.m);
            vA.write(next.v);
            pA.assign(next.param as tf.Tensor1D);
          });
          const fused = fusedAdamBlockwise8(pB, g, mB, vB, c.step, c.hyper);
          const same = [pA, ...mA.tensors, ...vA.tensors].every((t, i) =>
            bitsEqual(read(t), read([pB, ...mB.tensors, ...vB.tensors][i]!)),
          );
          tf.dispose([p0, g, m0, v0, pA, pB]);
          for (const s of [mA, vA, mB, vB]) s.dispose();
          return fused && same;
        }),
        { numRuns: 60, seed: 17 },
      );
    });
  }

  it('falls back (returns false, changes nothing) for codes without an element-wise form', async () => {
    await useBackend('cpu');
    const custom: BlockwiseCode = {
      name: 'custom',
      min: -1,
      max: 1,
      encode: (x) => tf.cast(tf.sign(x), 'int32'),
      decode: (q) => tf.cast(q, 'float32'),
    };
    expect(blockwise8Codec(custom)).toBeNull();
    const format = blockwise8({ code: custom, minSize: 0 });
    const p = tf.variable(tf.ones([5]));
    const m = format.create(tf.zeros([5]));
    const v = format.create(tf.zeros([5]));
    const hyper = { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };
    expect(fusedAdamBlockwise8(p, tf.ones([5]), m, v, 1, { ...hyper, decoupledWeightDecay: false })).toBe(
      false,
    );
    expect(Array.from(p.dataSync())).toEqual([1, 1, 1, 1, 1]);
  });
});

describe("blockwise8Codec encodes as the code's tfjs ops do", () => {
  it('for values on, just below and just above every midpoint, and arbitrary ones', async () => {
    await useBackend('cpu');
    const nextAfter = (x: number, up: boolean) => {
      const a = new Float32Array([x]);
      const b = new Int32Array(a.buffer);
      if (x === 0) return up ? 1e-45 : -1e-45;
      b[0]! += x > 0 === up ? 1 : -1;
      return a[0]!;
    };
    fc.assert(
      fc.property(codeArb(false), fc.array(fc.float({ min: -1, max: 1, noNaN: true })), (code, extra) => {
        const codec = blockwise8Codec(code)!;
        const mids = 'midpoints' in code ? Array.from(code.midpoints as Float32Array) : [];
        const xs = [
          ...extra,
          ...mids.flatMap((m) => [m, nextAfter(m, true), nextAfter(m, false)]),
          0,
          -0,
          1,
          -1,
        ];
        const expected = tf.tidy(() => code.encode(tf.tensor1d(xs, 'float32')).dataSync());
        const offset = code.min >= 0 ? 128 : 0;
        return xs.every((x, i) => codec.encode(x) === ((expected[i]! - offset) & 255));
      }),
      { numRuns: 40, seed: 17 },
    );
  });
});
