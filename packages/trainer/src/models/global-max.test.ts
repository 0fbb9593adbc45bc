import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import { useBackend } from '../../test/helpers.js';
import { globalMax } from './global-max.js';

/** x [2, 3, 3, 4]: random, with channels whose maximum is tied, ±0, ±∞ (tied too) or NaN. */
function input(): tf.Tensor4D {
  const values = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 5).dataSync() as Float32Array;
  const at = (b: number, h: number, w: number, c: number) => ((b * 3 + h) * 3 + w) * 4 + c;
  values[at(0, 0, 1, 0)] = 9;
  values[at(0, 2, 2, 0)] = 9; // a tie
  for (let h = 0; h < 3; h++)
    for (let w = 0; w < 3; w++) values[at(0, h, w, 1)] = (h + w) % 2 === 0 ? -0 : -1; // −0 is the maximum
  values[at(1, 1, 1, 1)] = 0;
  values[at(1, 0, 0, 1)] = -0; // +0 and −0 tie
  values[at(1, 0, 2, 2)] = Number.POSITIVE_INFINITY;
  values[at(1, 2, 0, 2)] = Number.POSITIVE_INFINITY;
  for (let h = 0; h < 3; h++) for (let w = 0; w < 3; w++) values[at(0, h, w, 3)] = Number.NEGATIVE_INFINITY;
  values[at(1, 1, 2, 3)] = Number.NaN;
  return tf.tensor4d(values, [2, 3, 3, 4]);
}

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

describe.each(['cpu', 'wasm'] as const)('globalMax on %s', (backend) => {
  test('gives tf.max(x, [1, 2]) and its gradient bit for bit, ties, ±0, ±∞ and NaN included', async () => {
    await useBackend(backend);
    const x = input();
    const dy = tf.tensor2d([3, -2, 0.5, -0, 1, Number.NaN, -4, 7], [2, 4]);
    const before = tf.memory().numTensors;
    const ours = tf.valueAndGrad((t: tf.Tensor) => globalMax(t as tf.Tensor4D));
    const theirs = tf.valueAndGrad((t: tf.Tensor) => tf.max(t, [1, 2]));
    const a = ours(x, dy);
    const b = theirs(x, dy);
    expect(a.value.shape).toEqual([2, 4]);
    expect(bits(a.value)).toEqual(bits(b.value));
    expect(a.grad.shape).toEqual(x.shape);
    expect(bits(a.grad)).toEqual(bits(b.grad));
    // the tie at (0, ·, ·, 0) shares dy: both positions get 3
    const g = a.grad.arraySync() as number[][][][];
    expect([g[0]![0]![1]![0], g[0]![2]![2]![0], g[0]![1]![1]![0]]).toEqual([3, 3, 0]);
    tf.dispose([a.value, a.grad, b.value, b.grad]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, dy]);
  });
});
