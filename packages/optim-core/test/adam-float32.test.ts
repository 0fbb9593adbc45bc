import { NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADAM_FLOAT32_KERNEL, fusedAdamFloat32 } from '../src/kernels/adam-float32.js';
import { Adam, AdamW } from '../src/optimizers/adam.js';

const f = Math.fround;

/** Element values: zeros of both signs, subnormals, tiny and huge magnitudes, NaN and infinities. */
const valueArb = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 1e-40, -3e-39),
  fc.float({ min: f(-1e15), max: f(1e15), noNaN: true }),
  fc.float({ min: -1, max: 1, noNaN: true }),
  fc.float({ min: f(-1e-30), max: f(1e-30), noNaN: true }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
);

const caseArb = fc.record({
  shapes: fc.array(
    fc.oneof(
      fc.integer({ min: 1, max: 1300 }).map((n) => [n]),
      fc.constantFrom<number[]>([1], [3], [4], [5], [2, 384], [3, 5, 17]),
    ),
    { minLength: 1, maxLength: 3 },
  ),
  steps: fc.integer({ min: 1, max: 4 }),
  decoupled: fc.boolean(),
  config: fc.record({
    learningRate: fc.double({ min: 1e-6, max: 1, noNaN: true }),
    beta1: fc.double({ min: 0, max: 0.999, noNaN: true }),
    beta2: fc.double({ min: 0, max: 0.9999, noNaN: true }),
    epsilon: fc.oneof(fc.constantFrom(1e-8, 0), fc.double({ min: 1e-12, max: 1e-3, noNaN: true })),
    // 1e-320 rounds to a float32 0, yet the op path still adds p · 0 (turning a −0 gradient into +0)
    weightDecay: fc.oneof(fc.constantFrom(0, 1e-320), fc.double({ min: 0, max: 0.5, noNaN: true })),
  }),
});

/**
 * Bit-identical, except that a NaN may be another NaN: tfjs's wasm kernels make the x86 default NaN (sign bit set)
 * where the JavaScript loop's arithmetic makes V8's (sign bit clear).
 */
function sameBitsOrBothNaN(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return a.length === b.length && x.every((v, i) => v === y[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i])));
}

/** `steps` updates of fresh variables; every parameter's and moment's values. */
function run(make: () => Adam, shapes: number[][], grads: Float32Array[][], init: Float32Array[]) {
  const opt = make();
  const vars = shapes.map((s, i) => tf.variable(tf.tensor(init[i]!, s)));
  for (const step of grads) {
    const named = Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(step[i]!, v.shape)]));
    opt.applyGradients(named);
    tf.dispose(Object.values(named));
  }
  const out = vars.map((v) => v.dataSync() as Float32Array);
  const state = vars.flatMap((v) =>
    ['m', 'v'].map((slot) => tf.tidy(() => opt.readState(v, slot).dataSync())),
  );
  opt.dispose();
  tf.dispose(vars);
  return [...out, ...(state as Float32Array[])];
}

describe('Adam and AdamW: the fused float32 step against fused: false (the op-composed rule)', () => {
  // The gradients, parameters and moments include NaN, ±Infinity, ±0 and subnormals.
  for (const backend of NODE_BACKENDS) {
    it(`is bit-identical over several steps, special values included (${backend})`, async () => {
      await useBackend(backend);
      fc.assert(
        fc.property(caseArb, fc.infiniteStream(valueArb), (c, values) => {
          const take = (n: number) => Float32Array.from({ length: n }, () => values.next().value);
          const sizes = c.shapes.map((s) => s.reduce((a, b) => a * b, 1));
          const init = sizes.map(take);
          const grads = Array.from({ length: c.steps }, () => sizes.map(take));
          const Class = c.decoupled ? AdamW : Adam;
          const a = run(() => new Class({ ...c.config, fused: true }), c.shapes, grads, init);
          const b = run(() => new Class({ ...c.config, fused: false }), c.shapes, grads, init);
          return a.every((x, i) => sameBitsOrBothNaN(x, b[i]!));
        }),
        { numRuns: 40, seed: 24 },
      );
    });

    it(`runs the fused kernel, one per variable, and no other (${backend})`, async () => {
      await useBackend(backend);
      const w = tf.variable(tf.ones([50]));
      const g = tf.fill([50], 0.5);
      const kernels = async (fused: boolean) => {
        const opt = new Adam({ fused });
        opt.allocateState([w]);
        const info = await tf.profile(() => opt.applyGradients({ [w.name]: g }));
        opt.dispose();
        return info.kernelNames;
      };
      expect(await kernels(true)).toEqual([ADAM_FLOAT32_KERNEL]);
      expect(await kernels(false)).not.toContain(ADAM_FLOAT32_KERNEL);
      tf.dispose([w, g]);
    });
  }

  it('falls back (returns false, changes nothing) for moments in another format', async () => {
    await useBackend('cpu');
    const p = tf.variable(tf.ones([5]));
    const hyper = { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };
    expect(
      fusedAdamFloat32(p, tf.ones([5]), undefined, undefined, 1, { ...hyper, decoupledWeightDecay: false }),
    ).toBe(false);
    expect(Array.from(p.dataSync())).toEqual([1, 1, 1, 1, 1]);
    p.dispose();
  });

  it('rejects a non-boolean fused option, naming it', () => {
    expect(() => new Adam({ fused: 'yes' as unknown as boolean })).toThrow(/fused/);
  });
});
