// Gradient parity between the cpu backend (tfjs's stock gradients) and the wasm backend (with this package's
// fixes), on the layers of the reference CNN. Error = max|a − b| / max(max|a|, max|b|), must be ≤ 1e-4.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { activeFixes, selectBackend, uninstallTrainingFixes } from '../src/index.js';
import { distinct, gradsOn, type Input, input, maxAbs, quiet, randn, relErr } from './helpers.js';

const TOL = 1e-4;

async function parity(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: Input[]): Promise<number[]> {
  const cpu = await gradsOn('cpu', f, inputs);
  const wasm = await gradsOn('wasm', f, inputs);
  const errs = cpu.map((g, i) => {
    expect(maxAbs(g), `gradient ${i} is not all zero`).toBeGreaterThan(0);
    return relErr(g, wasm[i]!);
  });
  if (process.env.PARITY_VERBOSE) console.log(errs.map((e) => e.toExponential(2)).join(' '));
  return errs;
}

beforeAll(async () => {
  const s = await selectBackend(['wasm'], { onLog: quiet });
  expect(s.fixes).toEqual(['conv2d-grad', 'maxpool-grad', 'conv2d-winograd']);
  // cpu keeps tfjs's stock gradients here, so the comparison is against an independent implementation.
  uninstallTrainingFixes('cpu');
  expect(activeFixes('cpu')).toEqual([]);
});

describe('conv2d gradients, wasm (fixed) vs cpu (stock)', () => {
  const cases: Array<{ name: string; x: [number, number, number, number]; cout: number }> = [
    { name: '1→32, 28x28, batch 2', x: [2, 28, 28, 1], cout: 32 },
    { name: '32→32, 28x28, batch 2', x: [2, 28, 28, 32], cout: 32 },
    { name: '32→32, 7x7, batch 4', x: [4, 7, 7, 32], cout: 32 },
    { name: '32→32, 3x3, batch 4', x: [4, 3, 3, 32], cout: 32 },
    { name: '8→16, 14x14, batch 3', x: [3, 14, 14, 8], cout: 16 },
  ];
  for (const [k, c] of cases.entries()) {
    it(`stride 1, same: ${c.name}`, async () => {
      const cin = c.x[3];
      const w = [3, 3, cin, c.cout];
      const y = [c.x[0], c.x[1], c.x[2], c.cout];
      // The loss weights every output by a random r, so dy is random rather than all ones.
      const f = (x: tf.Tensor, wt: tf.Tensor, r: tf.Tensor) =>
        tf.sum(tf.mul(r, tf.conv2d(x as tf.Tensor4D, wt as tf.Tensor4D, 1, 'same')));
      const errs = await parity(f, [
        input(c.x, randn(c.x, 10 + k)),
        input(w, randn(w, 20 + k, 1 / Math.sqrt(9 * cin))),
        input(y, randn(y, 30 + k)),
      ]);
      expect(errs[0], 'dx').toBeLessThan(TOL);
      expect(errs[1], 'dW').toBeLessThan(TOL);
    });
  }
});

describe('maxPool gradients, wasm (fixed) vs cpu', () => {
  const cases = [
    { name: '2x2 stride 2, 28x28x32, batch 2', x: [2, 28, 28, 32], k: 2, s: 2 },
    { name: '2x2 stride 2, 14x14x32, batch 4', x: [4, 14, 14, 32], k: 2, s: 2 },
    { name: '3x3 stride 2 valid, 7x7x32, batch 4', x: [4, 7, 7, 32], k: 3, s: 2 },
  ];
  for (const [i, c] of cases.entries()) {
    const out = tf.backend_util.computePool2DInfo(
      c.x as [number, number, number, number],
      c.k,
      c.s,
      1,
      'valid',
    ).outShape;
    const f = (x: tf.Tensor, r: tf.Tensor) =>
      tf.sum(tf.mul(r, tf.maxPool(x as tf.Tensor4D, c.k, c.s, 'valid')));
    it(`${c.name}, distinct mixed-sign values`, async () => {
      const [err] = await parity(f, [
        input(c.x, distinct(c.x, 40 + i, -1, 1)),
        input(out, randn(out, 50 + i)),
      ]);
      expect(err).toBeLessThan(TOL);
    });
    it(`${c.name}, distinct all-negative values`, async () => {
      const [err] = await parity(f, [
        input(c.x, distinct(c.x, 60 + i, -3, -0.5)),
        input(out, randn(out, 70 + i)),
      ]);
      expect(err).toBeLessThan(TOL);
    });
  }
});

describe('other layers of the reference CNN, wasm vs cpu', () => {
  it('batch norm as composed ops (mean/variance over N,H,W, normalise, gamma, beta)', async () => {
    const xs = [4, 7, 7, 32];
    const f = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, r: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const norm = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
      return tf.sum(tf.mul(r, tf.add(tf.mul(norm, gamma), beta)));
    };
    const errs = await parity(f, [
      input(xs, randn(xs, 80, 2)),
      input([32], randn([32], 81)),
      input([32], randn([32], 82)),
      input(xs, randn(xs, 83)),
    ]);
    for (const [i, e] of errs.entries()) expect(e, `input ${i}`).toBeLessThan(TOL);
  });

  it('leakyReLU(0.2)', async () => {
    const xs = [4, 14, 14, 32];
    const f = (x: tf.Tensor, r: tf.Tensor) => tf.sum(tf.mul(r, tf.leakyRelu(x, 0.2)));
    const [err] = await parity(f, [input(xs, randn(xs, 90)), input(xs, randn(xs, 91))]);
    expect(err).toBeLessThan(TOL);
  });

  it('a whole block: conv 3x3 (+bias) → leakyReLU → batch norm → maxPool 2x2', async () => {
    const xs = [2, 14, 14, 32];
    const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, r: tf.Tensor) => {
      const h = tf.leakyRelu(tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), b), 0.2);
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      const bn = tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
      return tf.sum(tf.mul(r, tf.maxPool(bn as tf.Tensor4D, 2, 2, 'valid')));
    };
    const errs = await parity(f, [
      input(xs, randn(xs, 100)),
      input([3, 3, 32, 32], randn([3, 3, 32, 32], 101, 1 / Math.sqrt(288))),
      input([32], randn([32], 102, 0.1)),
      input([32], randn([32], 103)),
      input([32], randn([32], 104)),
      input([2, 7, 7, 32], randn([2, 7, 7, 32], 105)),
    ]);
    for (const [i, e] of errs.entries()) expect(e, `input ${i}`).toBeLessThan(TOL);
  });
});
