import { blockwise8, linearCode, lookupCode, type SlotFormat } from '@gradsign/optim-core';
import { bitsEqual, NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bf16, Lion, lionRule } from '../src/index.js';
import { fusedLion } from '../src/lion-fused.js';

const f = Math.fround;

/** Element values: zeros of both signs, subnormals, bf16 rounding ties, tiny and huge magnitudes (to 3e38). */
const valueArb = fc.oneof(
  fc.constantFrom(0, -0, 1e-40, -3e-39, f(1 + 2 ** -8), f(-(1 + 3 * 2 ** -8)), f(3.4e38), f(-3.39e38)),
  fc.float({ noNaN: true, noDefaultInfinity: true }),
  fc.float({ min: -1, max: 1, noNaN: true }),
  fc.float({ min: f(-1e-30), max: f(1e-30), noNaN: true }),
);

/** Momentum formats: bf16, the linear code of any level count, or an arbitrary lookup table; any block size. */
const formatArb: fc.Arbitrary<SlotFormat> = fc.oneof(
  fc.constant(bf16({ minSize: 0 })),
  fc
    .record({ levels: fc.integer({ min: 1, max: 127 }), blockSize: fc.constantFrom(1, 3, 64, 256) })
    .map(({ levels, blockSize }) => blockwise8({ code: linearCode(levels), blockSize, minSize: 0 })),
  fc
    .record({
      values: fc.uniqueArray(
        fc.float({ min: -1, max: 1, noNaN: true }).map((v) => (v === 0 ? 0 : v)),
        { minLength: 2, maxLength: 256 },
      ),
      blockSize: fc.constantFrom(2, 7, 256),
    })
    .map(({ values, blockSize }) =>
      blockwise8({ code: lookupCode('random', values), blockSize, minSize: 0 }),
    ),
);

const hyperArb = fc.record({
  learningRate: fc.double({ min: 1e-6, max: 1, noNaN: true }),
  beta1: fc.double({ min: 0, max: 1, noNaN: true }),
  beta2: fc.double({ min: 0, max: 1, noNaN: true }),
  weightDecay: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
});

const caseArb = fc.integer({ min: 1, max: 700 }).chain((n) =>
  fc.record({
    format: formatArb,
    param: fc.array(valueArb, { minLength: n, maxLength: n }),
    grad: fc.array(valueArb, { minLength: n, maxLength: n }),
    m: fc.array(valueArb, { minLength: n, maxLength: n }),
    hyper: hyperArb,
  }),
);

const read = (t: tf.Tensor) => t.dataSync() as Float32Array | Int32Array;

describe('fused Lion step against the op-composed rule (lionRule and the format)', () => {
  for (const backend of NODE_BACKENDS) {
    it(`matches bit for bit for bf16 and block-wise momentum, any code, size and value, wasm's Sign aside (${backend})`, async () => {
      await useBackend(backend);
      fc.assert(
        fc.property(caseArb, (c) => {
          // both paths need finite momentum to store: values near float32's limit may overflow to ±inf
          const p0 = tf.tensor1d(c.param, 'float32');
          const g = tf.tensor1d(c.grad, 'float32');
          const m0 = tf.tensor1d(c.m, 'float32');
          const [mA, mB] = [c.format.create(m0), c.format.create(m0)];
          const pA = tf.variable(p0);
          const pB = tf.variable(p0);
          const m = tf.tidy(() => mA.read().dataSync() as Float32Array);
          const finite = tf.tidy(() => {
            const next = lionRule(pA, g, mA.read(), c.hyper);
            const ok = tf.all(tf.isFinite(next.m)).dataSync()[0] === 1;
            if (ok) mA.write(next.m);
            pA.assign(next.param as tf.Tensor1D);
            return ok;
          });
          const fused = finite ? fusedLion(pB, g, mB, c.hyper) : true;
          let same = !finite || mA.tensors.every((t, i) => bitsEqual(read(t), read(mB.tensors[i]!)));
          if (finite) {
            const [a, b] = [read(pA), read(pB)];
            const lr = f(c.hyper.learningRate);
            for (let i = 0; i < a.length; i++) {
              const u = f(f(m[i]! * f(c.hyper.beta1)) + f(c.grad[i]! * f(1 - c.hyper.beta1)));
              // wasm's Sign kernel returns 0 for |x| < 2^-23 (float32 epsilon); the fused step takes the true
              // sign there, so it moves such elements by exactly ±lr more than the op-composed path
              const quirk = backend === 'wasm' && u !== 0 && Math.abs(u) < 2 ** -23;
              const expected = quirk ? f(a[i]! - f(Math.sign(u) * lr)) : a[i]!;
              if (!Object.is(expected, b[i]!)) same = false;
            }
          }
          tf.dispose([p0, g, m0, pA, pB]);
          mA.dispose();
          mB.dispose();
          return fused && same;
        }),
        { numRuns: 80, seed: 23 },
      );
    });

    it(`Lion runs one fused kernel per quantized variable, and the same steps as fused: false (${backend})`, async () => {
      await useBackend(backend);
      for (const stateFormat of ['bf16', 'int8-blockwise'] as const) {
        const results = [];
        for (const fused of [true, false]) {
          const w = tf.variable(tf.randomNormal([5003], 0, 1, 'float32', 1));
          const opt = new Lion({ learningRate: 0.01, weightDecay: 0.1, stateFormat, fused });
          opt.allocateState([w]);
          const kernels = new Set<string>();
          for (let step = 0; step < 3; step++) {
            const g = tf.randomNormal([5003], 0, 1, 'float32', 10 + step);
            const info = await tf.profile(() => opt.applyGradients({ [w.name]: g }));
            for (const k of info.kernelNames) kernels.add(k);
            g.dispose();
          }
          const kernel = stateFormat === 'bf16' ? 'LionBf16Update' : 'LionBlockwise8Update';
          expect(kernels.has(kernel), `${stateFormat}, fused ${fused}`).toBe(fused);
          if (fused) expect([...kernels]).toEqual([kernel]);
          results.push([read(w), read(tf.tidy(() => opt.readState(w, 'm')))]);
          opt.dispose();
          w.dispose();
        }
        expect(bitsEqual(results[0]![0]!, results[1]![0]!)).toBe(true);
        expect(bitsEqual(results[0]![1]!, results[1]![1]!)).toBe(true);
      }
    });
  }

  it('leaves float32 momentum to the op-composed path', async () => {
    await useBackend('cpu');
    const p = tf.variable(tf.ones([4]));
    const m = bf16({ minSize: 100 }).create(tf.zeros([4]));
    const hyper = { learningRate: 0.1, beta1: 0.9, beta2: 0.99, weightDecay: 0 };
    expect(fusedLion(p, tf.ones([4]), m, hyper)).toBe(false);
    expect(Array.from(p.dataSync())).toEqual([1, 1, 1, 1]);
  });
});
