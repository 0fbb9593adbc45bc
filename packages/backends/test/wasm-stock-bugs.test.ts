// Shows that the stock wasm backend (4.22) cannot train a conv net and computes wrong max-pool gradients, so
// the fixes are needed, and that installTrainingFixes('wasm') repairs exactly those.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeFixes,
  installTrainingFixes,
  registerGradients,
  selectBackend,
  uninstallTrainingFixes,
} from '../src/index.js';
import { distinct, gradsOn, input, quiet, randn, relErr } from './helpers.js';

const nonzero = (g: Float32Array) => g.filter((v) => v !== 0).length;
const poolLoss = (x: tf.Tensor, r: tf.Tensor) =>
  tf.sum(tf.mul(r, tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid')));
const convLoss = (x: tf.Tensor, w: tf.Tensor) =>
  tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')));

beforeAll(async () => {
  // Initialise wasm through selectBackend (for the wasm paths), then strip its fixes to get stock tfjs.
  await selectBackend(['wasm'], { onLog: quiet });
  uninstallTrainingFixes('wasm');
  uninstallTrainingFixes('cpu');
  registerGradients();
  expect(activeFixes('wasm')).toEqual([]);
});

afterAll(() => {
  installTrainingFixes('wasm');
});

describe('stock wasm backend (no fixes)', () => {
  it('has no Conv2DBackpropFilter, so the conv2d filter gradient throws', async () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    await expect(
      gradsOn('wasm', convLoss, [
        input([1, 5, 5, 2], randn([1, 5, 5, 2], 1)),
        input([3, 3, 2, 4], randn([3, 3, 2, 4], 2)),
      ]),
    ).rejects.toThrow(/Conv2DBackpropFilter/);
  });

  it('drops the max-pool gradient of every window whose values are all negative', async () => {
    const xs = [2, 8, 8, 4];
    const inputs = [input(xs, distinct(xs, 3, -2, -0.1)), input([2, 4, 4, 4], randn([2, 4, 4, 4], 4))];
    const [cpu] = await gradsOn('cpu', poolLoss, inputs);
    const [wasm] = await gradsOn('wasm', poolLoss, inputs);
    // cpu routes one dy per window (2*4*4*4 = 128 windows). Stock wasm routes at most one of them: its argmax
    // defaults to flat element 0, which is only right for the first window, and only if its max is there.
    expect(nonzero(cpu!)).toBe(128);
    expect(nonzero(wasm!)).toBeLessThanOrEqual(1);
    expect(relErr(cpu!, wasm!)).toBeGreaterThan(0.5);
  });

  it('loses only the all-negative windows when signs are mixed', async () => {
    const xs = [1, 8, 8, 8];
    const data = distinct(xs, 5, -1, 1);
    // Count windows whose four values are all <= 0.
    let negWindows = 0;
    for (let r = 0; r < 4; r++)
      for (let q = 0; q < 4; q++)
        for (let c = 0; c < 8; c++) {
          let allNeg = true;
          for (let a = 0; a < 2; a++)
            for (let b = 0; b < 2; b++) if (data[((2 * r + a) * 8 + 2 * q + b) * 8 + c]! > 0) allNeg = false;
          if (allNeg) negWindows++;
        }
    expect(negWindows).toBeGreaterThan(0);
    const inputs = [input(xs, data), input([1, 4, 4, 8], randn([1, 4, 4, 8], 6))];
    const [cpu] = await gradsOn('cpu', poolLoss, inputs);
    const [wasm] = await gradsOn('wasm', poolLoss, inputs);
    expect(nonzero(cpu!)).toBe(128);
    expect(nonzero(wasm!)).toBeGreaterThanOrEqual(128 - negWindows);
    expect(nonzero(wasm!)).toBeLessThanOrEqual(128 - negWindows + 1);
  });

  it('breaks ties on the last maximum where cpu takes the first', async () => {
    const xs = [1, 4, 4, 1];
    const inputs = [
      input(xs, new Float32Array(16).fill(0.5)),
      input([1, 2, 2, 1], Float32Array.from([1, 2, 3, 4])),
    ];
    const [cpu] = await gradsOn('cpu', poolLoss, inputs);
    const [wasm] = await gradsOn('wasm', poolLoss, inputs);
    // Window (0,0) covers flat indices 0, 1, 4, 5: cpu picks 0, stock wasm picks 5.
    expect([cpu![0], cpu![5]]).toEqual([1, 0]);
    expect([wasm![0], wasm![5]]).toEqual([0, 1]);
  });
});

describe('wasm with installTrainingFixes', () => {
  beforeAll(() => {
    expect(installTrainingFixes('wasm')).toEqual(['conv2d-grad', 'maxpool-grad', 'conv2d-winograd']);
  });

  it('computes the conv2d gradients, matching the cpu stock gradient', async () => {
    const inputs = [input([2, 6, 6, 3], randn([2, 6, 6, 3], 7)), input([3, 3, 3, 5], randn([3, 3, 3, 5], 8))];
    const cpu = await gradsOn('cpu', convLoss, inputs);
    const wasm = await gradsOn('wasm', convLoss, inputs);
    expect(relErr(cpu[0]!, wasm[0]!)).toBeLessThan(1e-5);
    expect(relErr(cpu[1]!, wasm[1]!)).toBeLessThan(1e-5);
  });

  it('routes the gradient of all-negative windows, and ties to the first maximum, like cpu', async () => {
    const neg = [
      input([2, 8, 8, 4], distinct([2, 8, 8, 4], 3, -2, -0.1)),
      input([2, 4, 4, 4], randn([2, 4, 4, 4], 4)),
    ];
    const [cpuNeg] = await gradsOn('cpu', poolLoss, neg);
    const [wasmNeg] = await gradsOn('wasm', poolLoss, neg);
    expect(relErr(cpuNeg!, wasmNeg!)).toBe(0);
    const ties = [
      input([1, 4, 4, 1], new Float32Array(16).fill(0.5)),
      input([1, 2, 2, 1], Float32Array.from([1, 2, 3, 4])),
    ];
    const [cpuTie] = await gradsOn('cpu', poolLoss, ties);
    const [wasmTie] = await gradsOn('wasm', poolLoss, ties);
    expect(Array.from(wasmTie!)).toEqual(Array.from(cpuTie!));
  });

  it('matches cpu on "same" padding, overlapping 3x3/2 windows and ties at -Infinity-free edges', async () => {
    const xs = [2, 7, 9, 3];
    const data = distinct(xs, 9, -4, 1);
    for (let i = 0; i < data.length; i += 7) data[i] = 0.25; // plant some ties
    const f = (x: tf.Tensor) => tf.sum(tf.square(tf.maxPool(x as tf.Tensor4D, 3, 2, 'same')));
    const [cpu] = await gradsOn('cpu', f, [input(xs, data)]);
    const [wasm] = await gradsOn('wasm', f, [input(xs, data)]);
    expect(relErr(cpu!, wasm!)).toBeLessThan(1e-6);
  });
});
