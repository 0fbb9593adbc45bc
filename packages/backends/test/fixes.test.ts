// The conv-gradient formulas against tfjs's stock kernels on cpu, for strides, paddings and kernel shapes
// beyond the reference CNN; plus install/uninstall bookkeeping.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  activeFixes,
  conv2dFilterGradViaConv,
  conv2dFilterGradViaMatMul,
  conv2dInputGradViaConv,
  installTrainingFixes,
  maxPoolBackprop,
  registerGradients,
  selectBackend,
  stockGradConfig,
  uninstallTrainingFixes,
} from '../src/index.js';
import { distinct, gradsOn, input, quiet, randn, relErr } from './helpers.js';

type Pad = Parameters<typeof tf.conv2d>[3];
type S4 = [number, number, number, number];

beforeAll(async () => {
  await selectBackend(['wasm'], { onLog: quiet });
  registerGradients();
  await tf.setBackend('cpu');
});

/** Stock gradients (tfjs's Conv2DBackpropInput/Filter kernels on cpu) for a conv2d. */
function stockConvGrads(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  dy: tf.Tensor4D,
  strides: number | [number, number],
  pad: Pad,
) {
  const stock = stockGradConfig('Conv2D')!;
  const g = stock.gradFunc(dy, [x, w], { strides, pad, dataFormat: 'NHWC', dilations: 1 } as never);
  return { dx: g.x!(), dw: g.filter!() };
}

const cases: Array<{ name: string; x: S4; w: S4; strides: number | [number, number]; pad: Pad }> = [
  { name: '3x3 s1 same', x: [2, 9, 9, 3], w: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { name: '3x3 s1 valid', x: [2, 9, 8, 3], w: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { name: '3x5 s1 same (non-square)', x: [1, 8, 10, 2], w: [3, 5, 2, 3], strides: 1, pad: 'same' },
  { name: '1x1 s1 valid', x: [2, 5, 5, 6], w: [1, 1, 6, 2], strides: 1, pad: 'valid' },
  { name: '3x3 s2 same', x: [2, 9, 9, 3], w: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { name: '3x3 s2 valid (drops last row/col)', x: [2, 10, 10, 3], w: [3, 3, 3, 4], strides: 2, pad: 'valid' },
  { name: '4x4 s[2,3] same', x: [1, 11, 13, 2], w: [4, 4, 2, 3], strides: [2, 3], pad: 'same' },
  {
    name: '3x3 s1 explicit pad',
    x: [2, 6, 7, 2],
    w: [3, 3, 2, 3],
    strides: 1,
    pad: [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
  },
  { name: '5x5 s1 numeric pad 1', x: [1, 9, 9, 2], w: [5, 5, 2, 2], strides: 1, pad: 1 },
];

describe('conv gradients expressed as conv2d, vs stock kernels on cpu', () => {
  for (const [i, c] of cases.entries()) {
    it(c.name, () => {
      tf.tidy(() => {
        const x = tf.tensor4d(randn(c.x, 200 + i), c.x);
        const w = tf.tensor4d(randn(c.w, 300 + i), c.w);
        const yShape = tf.conv2d(x, w, c.strides, c.pad).shape;
        const dy = tf.tensor4d(randn(yShape, 400 + i), yShape);
        const stock = stockConvGrads(x, w, dy, c.strides, c.pad);
        const dw = conv2dFilterGradViaConv(x, dy, c.w, c.strides, c.pad);
        expect(dw.shape).toEqual(c.w);
        expect(relErr(dw.dataSync(), stock.dw.dataSync())).toBeLessThan(1e-5);
        const dx = conv2dInputGradViaConv(dy, w, c.x, c.strides, c.pad);
        const strided = Array.isArray(c.strides) ? c.strides.some((s) => s !== 1) : c.strides !== 1;
        const dwMatMul = conv2dFilterGradViaMatMul(x, dy, c.w, c.strides, c.pad);
        if (strided) {
          expect(dwMatMul).toBeNull();
        } else {
          expect(dwMatMul!.shape).toEqual(c.w);
          expect(relErr(dwMatMul!.dataSync(), stock.dw.dataSync())).toBeLessThan(1e-5);
        }
        if (strided) {
          expect(dx).toBeNull();
        } else {
          expect(dx!.shape).toEqual(c.x);
          expect(relErr(dx!.dataSync(), stock.dx.dataSync())).toBeLessThan(1e-5);
        }
      });
    });
  }
});

describe('the installed gradient', () => {
  it('on wasm, strided and valid convs match cpu stock (stride > 1 uses Conv2DBackpropInput)', async () => {
    installTrainingFixes('wasm');
    uninstallTrainingFixes('cpu');
    for (const [i, c] of cases.entries()) {
      const f = (x: tf.Tensor, w: tf.Tensor, r: tf.Tensor) =>
        tf.sum(tf.mul(r, tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad)));
      const yShape = tf.tidy(
        () => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.w) as tf.Tensor4D, c.strides, c.pad).shape,
      );
      const inputs = [
        input(c.x, randn(c.x, 500 + i)),
        input(c.w, randn(c.w, 600 + i)),
        input(yShape, randn(yShape, 700 + i)),
      ];
      const cpu = await gradsOn('cpu', f, inputs);
      const wasm = await gradsOn('wasm', f, inputs);
      expect(relErr(cpu[0]!, wasm[0]!), `${c.name}: dx`).toBeLessThan(1e-5);
      expect(relErr(cpu[1]!, wasm[1]!), `${c.name}: dW`).toBeLessThan(1e-5);
    }
  });

  it('on wasm, the matMul filter gradient (small c_in) matches cpu stock, by default for c_in = 1', async () => {
    const withOne = [
      ...cases,
      {
        name: '3x3 s1 same, c_in 1 (the first layer)',
        x: [4, 12, 12, 1] as S4,
        w: [3, 3, 1, 8] as S4,
        strides: 1,
        pad: 'same' as Pad,
      },
    ];
    for (const maxChannels of [undefined, 64]) {
      installTrainingFixes('wasm', { convFilterGradMatMulMaxChannels: maxChannels });
      uninstallTrainingFixes('cpu');
      for (const [i, c] of withOne.entries()) {
        const f = (x: tf.Tensor, w: tf.Tensor, r: tf.Tensor) =>
          tf.sum(tf.mul(r, tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad)));
        const yShape = tf.tidy(
          () => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.w) as tf.Tensor4D, c.strides, c.pad).shape,
        );
        const inputs = [
          input(c.x, randn(c.x, 1500 + i)),
          input(c.w, randn(c.w, 1600 + i)),
          input(yShape, randn(yShape, 1700 + i)),
        ];
        const cpu = await gradsOn('cpu', f, inputs);
        const wasm = await gradsOn('wasm', f, inputs);
        expect(relErr(cpu[0]!, wasm[0]!), `${c.name}: dx`).toBeLessThan(1e-5);
        expect(relErr(cpu[1]!, wasm[1]!), `${c.name}: dW`).toBeLessThan(1e-5);
      }
    }
    installTrainingFixes('wasm');
  });

  it('makes conv2dTranspose trainable on wasm (filter gradient of Conv2DBackpropInput)', async () => {
    installTrainingFixes('wasm');
    const f = (x: tf.Tensor, w: tf.Tensor) =>
      tf.sum(tf.square(tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 8, 3], 2, 'same')));
    const inputs = [
      input([2, 4, 4, 5], randn([2, 4, 4, 5], 800)),
      input([3, 3, 3, 5], randn([3, 3, 3, 5], 801)),
    ];
    const cpu = await gradsOn('cpu', f, inputs);
    const wasm = await gradsOn('wasm', f, inputs);
    expect(relErr(cpu[0]!, wasm[0]!)).toBeLessThan(1e-5);
    expect(relErr(cpu[1]!, wasm[1]!)).toBeLessThan(1e-5);
  });

  it('on cpu, the fixed gradient matches the stock one (32→32, 14x14, batch 2)', async () => {
    const f = (x: tf.Tensor, w: tf.Tensor, r: tf.Tensor) =>
      tf.sum(tf.mul(r, tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')));
    const inputs = [
      input([2, 14, 14, 32], randn([2, 14, 14, 32], 900)),
      input([3, 3, 32, 32], randn([3, 3, 32, 32], 901, 0.06)),
      input([2, 14, 14, 32], randn([2, 14, 14, 32], 902)),
    ];
    uninstallTrainingFixes('cpu');
    const stock = await gradsOn('cpu', f, inputs);
    expect(installTrainingFixes('cpu')).toEqual(['conv2d-grad']);
    const fixed = await gradsOn('cpu', f, inputs);
    expect(relErr(stock[0]!, fixed[0]!)).toBeLessThan(1e-5);
    expect(relErr(stock[1]!, fixed[1]!)).toBeLessThan(1e-5);
    for (const method of ['conv2d', 'stock'] as const) {
      installTrainingFixes('cpu', { convInputGrad: method });
      const again = await gradsOn('cpu', f, inputs);
      expect(relErr(stock[0]!, again[0]!), method).toBeLessThan(1e-5);
    }
    installTrainingFixes('cpu', { convInputGrad: 'stock' });
  });
});

describe('install bookkeeping', () => {
  it('is idempotent and re-installs a fix that was overwritten', () => {
    installTrainingFixes('wasm');
    const conv = tf.getGradient('Conv2D');
    const kernel = tf.getKernel('MaxPoolGrad', 'wasm');
    expect(installTrainingFixes('wasm')).toEqual(['conv2d-grad', 'maxpool-grad', 'conv2d-winograd']);
    expect(tf.getGradient('Conv2D')).toBe(conv);
    expect(tf.getKernel('MaxPoolGrad', 'wasm')).toBe(kernel);
    // Someone re-registers tfjs's stock gradients (e.g. importing register_all_gradients later).
    tf.registerGradient(stockGradConfig('Conv2D')!);
    expect(activeFixes('wasm')).toEqual(['maxpool-grad', 'conv2d-winograd']);
    installTrainingFixes('wasm');
    expect(activeFixes('wasm')).toEqual(['conv2d-grad', 'maxpool-grad', 'conv2d-winograd']);
  });

  it('refuses the wasm-only max-pool fix on another backend', () => {
    expect(() => installTrainingFixes('cpu', { fixes: ['maxpool-grad'] })).toThrow(/only applies to wasm/);
    expect(() => installTrainingFixes('cpu', { fixes: ['conv2d-winograd'] })).toThrow(/only applies to wasm/);
  });

  it('uninstall restores the stock kernel and gradient', () => {
    installTrainingFixes('wasm');
    installTrainingFixes('cpu');
    uninstallTrainingFixes('wasm');
    uninstallTrainingFixes('cpu');
    expect(tf.getGradient('Conv2D')).toBe(stockGradConfig('Conv2D'));
    expect(activeFixes('wasm')).toEqual([]);
    installTrainingFixes('wasm');
    expect(activeFixes('wasm')).toEqual(['conv2d-grad', 'maxpool-grad', 'conv2d-winograd']);
  });
});

describe('maxPoolBackprop (the JS kernel) vs the cpu MaxPoolGrad kernel', () => {
  const configs: Array<{
    x: S4;
    k: number | [number, number];
    s: number | [number, number];
    pad: 'same' | 'valid';
  }> = [
    { x: [2, 7, 7, 3], k: 3, s: 2, pad: 'same' },
    { x: [1, 9, 6, 2], k: [2, 3], s: [1, 2], pad: 'valid' },
    { x: [3, 5, 5, 4], k: 3, s: 1, pad: 'same' },
  ];
  for (const [i, c] of configs.entries()) {
    it(`k=${c.k} s=${c.s} ${c.pad}, with ties`, async () => {
      await tf.setBackend('cpu');
      const data = distinct(c.x, 1000 + i, -2, 2);
      for (let j = 0; j < data.length; j += 5) data[j] = -0.5; // ties
      const info = tf.backend_util.computePool2DInfo(c.x, c.k, c.s, 1, c.pad);
      const dyData = randn(info.outShape, 1100 + i);
      const expected = tf.tidy(() =>
        tf
          .grad((x: tf.Tensor) =>
            tf.sum(tf.mul(tf.tensor(dyData, info.outShape), tf.maxPool(x as tf.Tensor4D, c.k, c.s, c.pad))),
          )(tf.tensor(data, c.x))
          .dataSync(),
      );
      const dx = new Float32Array(data.length);
      maxPoolBackprop(data, dyData, dx, info);
      expect(relErr(dx, expected)).toBeLessThan(1e-6);
    });
  }
});
