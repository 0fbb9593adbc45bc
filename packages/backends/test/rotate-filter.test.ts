// The conv filter rotation used by the input gradient (src/kernels/rotate-filter.ts): on wasm, the one-copy kernel
// gives exactly the elements of transpose(reverse(filter, [0, 1]), [0, 1, 3, 2]), and so does its gradient.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/index.js';
import { ROTATE_FILTER, rotateFilter } from '../src/kernels/rotate-filter.js';
import { quiet, randn } from './helpers.js';

type S4 = [number, number, number, number];

beforeAll(async () => {
  await selectBackend(['wasm'], { onLog: quiet });
});

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
const reference = (f: tf.Tensor4D) => tf.transpose(tf.reverse(f, [0, 1]), [0, 1, 3, 2]);

describe('rotateFilter on wasm', () => {
  const shapes: S4[] = [
    [3, 3, 32, 32],
    [3, 3, 1, 32],
    [3, 3, 32, 1],
    [2, 5, 3, 7],
    [1, 1, 4, 6],
  ];
  for (const [k, s] of shapes.entries()) {
    it(`${s}: the same bits as transpose(reverse(...)), via its own kernel`, () => {
      expect(tf.getBackend()).toBe('wasm');
      tf.tidy(() => {
        const data = randn(s, 50 + k);
        data[0] = -0;
        data[1] = Number.NaN;
        const f = tf.tensor4d(data, s);
        const out = rotateFilter(f);
        expect(out.shape).toEqual([s[0], s[1], s[3], s[2]]);
        expect(bits(out)).toEqual(bits(reference(f)));
      });
    });
  }

  it('runs as one kernel, and its gradient is the rotation of the upstream gradient', async () => {
    const s: S4 = [3, 2, 4, 5];
    const f = tf.tensor4d(randn(s, 9), s);
    const w = tf.tensor4d(randn([3, 2, 5, 4], 10), [3, 2, 5, 4]);
    const info = await tf.profile(() => rotateFilter(f));
    expect(info.kernels.map((k) => k.name)).toEqual([ROTATE_FILTER]);
    tf.dispose(info.result as tf.Tensor);
    tf.tidy(() => {
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(rotateFilter(x as tf.Tensor4D), w)))(f);
      const gRef = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(reference(x as tf.Tensor4D), w)))(f);
      expect(bits(g)).toEqual(bits(gRef));
    });
    tf.dispose([f, w]);
  });
});
