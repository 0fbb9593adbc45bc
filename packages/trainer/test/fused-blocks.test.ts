// blog-cnn with its fused blocks (the BiasLeakyBatchNorm kernels of @gradsign/backends) against the same model
// composed from tfjs ops; the kernels themselves are tested in @gradsign/backends.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import { createModel, crossEntropy } from '../src/index.js';
import { Mulberry32 } from '../src/random.js';
import { useBackend } from './helpers.js';

/** max |a − b| / max(max |a|, max |b|): the relative error the backends' parity tests use. */
function relError(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(x[i]!), Math.abs(y[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

describe.each(['cpu', 'wasm'] as const)('blog-cnn fused blocks on %s', (backend) => {
  test('blog-cnn: fused and composed blocks give the same loss, gradients and running statistics', async () => {
    // The 1e-4 agreement is the portable build's. The FMA build rounds differently; backends tests it against a
    // float64 reference with derived bounds (bias-leaky-batch-norm-reference.test.ts).
    await useBackend(backend, 'portable');
    const fusedModel = createModel('blog-cnn', { seed: 4, fused: true });
    const plain = createModel('blog-cnn', { seed: 4, fused: false });
    const xs = tf.randomUniform([6, 28, 28, 1], -0.5, 1.5, 'float32', 9) as tf.Tensor4D;
    const ys = tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32');
    const step = (model: typeof plain) => {
      const out = tf.variableGrads(
        () => crossEntropy(model.forward(xs, { training: true, dropout: new Mulberry32(3) }), ys),
        model.trainableVariables(),
      );
      model.commitStatistics();
      return out;
    };
    try {
      const a = step(fusedModel);
      const b = step(plain);
      expect(relError(a.value, b.value)).toBeLessThanOrEqual(1e-4);
      const names = (m: typeof plain) => m.tensors().map((t) => t.name);
      expect(names(fusedModel)).toEqual(names(plain));
      const tensors = plain.tensors();
      fusedModel.tensors().forEach((t, i) => {
        const other = tensors[i]!;
        if (t.trainable) {
          const ga = a.grads[t.variable.name]!;
          const gb = b.grads[other.variable.name]!;
          expect(relError(ga, gb), t.name).toBeLessThanOrEqual(1e-4);
        } else {
          expect(relError(t.variable, other.variable), t.name).toBeLessThanOrEqual(1e-4);
        }
      });
      const ea = fusedModel.forward(xs, { training: false });
      const eb = plain.forward(xs, { training: false });
      expect(relError(ea, eb)).toBeLessThanOrEqual(1e-4);
      tf.dispose([a.value, b.value, ea, eb, ...Object.values(a.grads), ...Object.values(b.grads)]);
    } finally {
      tf.dispose([xs, ys]);
      fusedModel.dispose();
      plain.dispose();
    }
  });

  test('no tensors leak from a fused training step', async () => {
    await useBackend(backend);
    const model = createModel('blog-cnn', { seed: 1 });
    const xs = tf.randomUniform([2, 28, 28, 1], -0.5, 1.5, 'float32', 2) as tf.Tensor4D;
    const ys = tf.tensor1d([3, 7], 'int32');
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () => crossEntropy(model.forward(xs, { training: true, dropout: new Mulberry32(1) }), ys),
      model.trainableVariables(),
    );
    model.commitStatistics();
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
