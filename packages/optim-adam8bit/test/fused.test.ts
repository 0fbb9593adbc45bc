import { bitsEqual, NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Adam8bit, AdamW8bit } from '../src/index.js';

const f = Math.fround;

/** Element values: zeros of both signs, subnormals, tiny and huge magnitudes, ordinary gradients. */
const valueArb = fc.oneof(
  fc.constantFrom(0, -0, 1e-40, -3e-39),
  fc.float({ min: f(-1e12), max: f(1e12), noNaN: true }),
  fc.float({ min: -1, max: 1, noNaN: true }),
  fc.float({ min: f(-1e-30), max: f(1e-30), noNaN: true }),
);

/** Shapes of 1 to 3 tensors, from 1 to 1300 elements: one block, block boundaries ± 1, sizes not a multiple. */
const shapeArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.integer({ min: 1, max: 1300 }).map((n) => [n]),
  fc.constantFrom<number[]>([255], [256], [257], [512], [513], [2, 384], [3, 5, 17]),
);

const caseArb = fc.record({
  shapes: fc.array(shapeArb, { minLength: 1, maxLength: 3 }),
  steps: fc.integer({ min: 1, max: 4 }),
  decoupled: fc.boolean(),
  config: fc.record({
    learningRate: fc.double({ min: 1e-5, max: 0.5, noNaN: true }),
    beta1: fc.double({ min: 0, max: 0.99, noNaN: true }),
    beta2: fc.double({ min: 0.5, max: 0.9999, noNaN: true }),
    epsilon: fc.constantFrom(1e-8, 1e-6),
    weightDecay: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.1, noNaN: true })),
  }),
  seed: fc.integer({ min: 0, max: 1000 }),
});

/** `steps` updates of fresh variables, returning every parameter and every state tensor's bits. */
function run(
  make: () => Adam8bit | AdamW8bit,
  shapes: number[][],
  grads: Float32Array[][],
  init: Float32Array[],
) {
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

describe('Adam8bit and AdamW8bit: the fused step against fused: false (the op-composed rule)', () => {
  for (const backend of NODE_BACKENDS) {
    it(`is bit-identical over several steps, every tensor quantized (${backend})`, async () => {
      await useBackend(backend);
      fc.assert(
        fc.property(caseArb, fc.infiniteStream(valueArb), (c, values) => {
          const take = (n: number) => Float32Array.from({ length: n }, () => values.next().value);
          const sizes = c.shapes.map((s) => s.reduce((a, b) => a * b, 1));
          const init = sizes.map(take);
          const grads = Array.from({ length: c.steps }, () => sizes.map(take));
          const Class = c.decoupled ? AdamW8bit : Adam8bit;
          const make = (fused: boolean) => () => new Class({ ...c.config, minQuantizedSize: 0, fused });
          const a = run(make(true), c.shapes, grads, init);
          const b = run(make(false), c.shapes, grads, init);
          return a.every((x, i) => bitsEqual(x, b[i]!));
        }),
        { numRuns: 25, seed: 8 },
      );
    });
  }

  for (const backend of NODE_BACKENDS) {
    it(`runs the fused kernel, one per quantized variable, and no other (${backend})`, async () => {
      await useBackend(backend);
      const w = tf.variable(tf.ones([5000]));
      const g = tf.fill([5000], 0.5);
      const kernels = async (fused: boolean) => {
        const opt = new Adam8bit({ fused });
        opt.allocateState([w]);
        const info = await tf.profile(() => opt.applyGradients({ [w.name]: g }));
        opt.dispose();
        return info.kernelNames;
      };
      expect(await kernels(true)).toEqual(['AdamBlockwise8Update']);
      expect(await kernels(false)).not.toContain('AdamBlockwise8Update');
      tf.dispose([w, g]);
    });
  }

  it('keeps small tensors (below minQuantizedSize) in float32, on the float32 fused step, with the same result', async () => {
    await useBackend('cpu');
    const grads = [[Float32Array.from({ length: 100 }, (_, i) => Math.sin(i))]];
    const init = [Float32Array.from({ length: 100 }, (_, i) => Math.cos(i))];
    const a = run(() => new Adam8bit({ fused: true }), [[100]], grads, init);
    const b = run(() => new Adam8bit({ fused: false }), [[100]], grads, init);
    expect(a.every((x, i) => bitsEqual(x, b[i]!))).toBe(true);
  });

  it('rejects a non-boolean fused option, naming it', () => {
    expect(() => new Adam8bit({ fused: 'yes' as unknown as boolean })).toThrow(/fused/);
  });
});
