// Shared by the consumer examples: a least-squares runSteps with a closed-form gradient (plain Node's tfjs-core
// registers no gradients), so each example needs nothing but tfjs-core, the cpu backend and the package.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

await tf.setBackend('cpu');

/** Runs `steps` steps of `opt` on mean((w − t)²) for a [rows, cols] weight; returns the losses and state bytes. */
export function runSteps(opt, { rows = 64, cols = 128, steps = 20, name = 'w' } = {}) {
  const target = tf.randomNormal([rows, cols], 0, 1, 'float32', 7);
  const w = tf.variable(tf.zeros([rows, cols]), true, name);
  const loss = () => tf.tidy(() => tf.mean(tf.square(tf.sub(w, target))).dataSync()[0]);
  const first = loss();
  for (let step = 0; step < steps; step++) {
    const grad = tf.tidy(() => tf.mul(tf.sub(w, target), 2 / w.size));
    opt.applyGradients({ [name]: grad });
    grad.dispose();
  }
  const last = loss();
  const bytes = opt.stateBytes();
  assert.ok(last < first, `loss must fall: ${first} → ${last}`);
  return { first, last, bytes, w, target };
}

export { assert, tf };
