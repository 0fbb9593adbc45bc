import {
  createOptimizer,
  dequantizeBlockwise,
  getOptimizerEntry,
  type OptimizerError,
  quantizeBlockwise,
} from '@gradsign/optim-core';
import { bitsEqual, describeOptimizer, NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { int8Blockwise, Lion, lionRule } from '../src/index.js';
import { int8BlockwiseRef, lionGolden, lionStepRef, randn } from './reference.js';

/** Block-wise int8 bytes for n elements at 4 codes per word (cpu, wasm). */
const int8Bytes = (n: number) => 4 * Math.ceil(n / 4) + 4 * Math.ceil(n / 256);

const float32Golden = [
  lionGolden(
    'float32, wd 0',
    (h) =>
      new Lion({
        learningRate: h.lr,
        beta1: h.beta1,
        beta2: h.beta2,
        weightDecay: h.wd,
        stateFormat: 'float32',
      }),
    { lr: 1e-3, beta1: 0.9, beta2: 0.99, wd: 0 },
    { size: 300, steps: 20, seed: 1 },
  ),
  lionGolden(
    'float32, wd 0.1, betas 0.95/0.98',
    (h) =>
      new Lion({
        learningRate: h.lr,
        beta1: h.beta1,
        beta2: h.beta2,
        weightDecay: h.wd,
        stateFormat: 'float32',
      }),
    { lr: 3e-3, beta1: 0.95, beta2: 0.98, wd: 0.1 },
    { size: 300, steps: 20, seed: 2 },
  ),
];

const int8Golden = [
  lionGolden(
    'int8-blockwise, wd 0.01',
    (h) => new Lion({ learningRate: h.lr, weightDecay: h.wd, minQuantizedSize: 0 }),
    { lr: 1e-3, beta1: 0.9, beta2: 0.99, wd: 0.01 },
    { size: 1000, steps: 20, seed: 3, quantize: 'int8' },
  ),
];

describeOptimizer({
  name: 'Lion (float32 momentum)',
  create: (overrides) => new Lion({ learningRate: 0.01, stateFormat: 'float32', ...overrides }),
  slots: ['m'],
  golden: float32Golden,
  quadratic: { steps: 400, maxRatio: 0.01 },
  rosenbrock: { steps: 2000, maxLoss: 0.05 },
  maxStateBytes: (n) => 4 * n,
});

describeOptimizer({
  name: 'Lion (int8-blockwise momentum, every tensor quantized)',
  create: (overrides) => new Lion({ learningRate: 0.01, minQuantizedSize: 0, ...overrides }),
  slots: ['m'],
  golden: int8Golden,
  quadratic: { steps: 400, maxRatio: 0.01 },
  rosenbrock: { steps: 2000, maxLoss: 0.05 },
  maxStateBytes: int8Bytes,
  stateSizes: [1, 67, 4096, 66954],
});

describeOptimizer({
  name: 'Lion (bf16 momentum, every tensor quantized)',
  create: (overrides) =>
    new Lion({ learningRate: 0.01, stateFormat: 'bf16', minQuantizedSize: 0, ...overrides }),
  slots: ['m'],
  golden: [
    lionGolden(
      'bf16, wd 0.01',
      (h) => new Lion({ learningRate: h.lr, weightDecay: h.wd, stateFormat: 'bf16', minQuantizedSize: 0 }),
      { lr: 1e-3, beta1: 0.9, beta2: 0.99, wd: 0.01 },
      { size: 1001, steps: 20, seed: 4, quantize: 'bf16' },
    ),
  ],
  quadratic: { steps: 400, maxRatio: 0.01 },
  rosenbrock: { steps: 2000, maxLoss: 0.05 },
  maxStateBytes: (n) => 4 * Math.ceil(n / 2),
  stateSizes: [1, 67, 4096, 66954],
});

describeOptimizer({
  name: 'Lion (defaults: int8-blockwise from 4096 elements)',
  create: (overrides) => new Lion({ learningRate: 0.01, ...overrides }),
  slots: ['m'],
  rosenbrock: false,
  backends: ['wasm'],
  maxStateBytes: (n) => (n < 4096 ? 4 * n : int8Bytes(n)),
  stateSizes: [67, 4095, 4096, 66954],
});

for (const backend of NODE_BACKENDS) {
  describe(`Lion's int8 block-wise momentum on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it("quantizes exactly as the golden vectors' plain-JS reference (codes, absmax, decoded values)", async () => {
      const { code } = int8Blockwise();
      for (const n of [1, 255, 1000, 70_001]) {
        const values = randn(n, n, 0.01);
        values.fill(0, 0, Math.min(n, 256)); // a block of zeros
        const ref = int8BlockwiseRef(values);
        const input = tf.tensor1d(values);
        const { codes: q, absmax } = quantizeBlockwise(input, code, 256);
        expect(Array.from(await q.data()), `q, n = ${n}`).toEqual(Array.from(ref.q));
        expect(bitsEqual((await absmax.data()) as Float32Array, ref.absmax)).toBe(true);
        const decoded = dequantizeBlockwise(q, absmax, code, [n], 256);
        expect(bitsEqual((await decoded.data()) as Float32Array, ref.decoded)).toBe(true);
        tf.dispose([input, q, absmax, decoded]);
      }
    });

    it('keeps the id and the portable parts of earlier versions (int8-blockwise: q stored as int8, absmax)', () => {
      const format = int8Blockwise();
      expect(format.id).toBe('int8-blockwise');
      expect(format.parts([64, 64])).toEqual([
        { suffix: 'q', shape: [4096], dtype: 'int32', storeAs: 'int8' },
        { suffix: 'absmax', shape: [16], dtype: 'float32', storeAs: 'float32' },
      ]);
      expect(format.parts([10])).toEqual([{ suffix: '', shape: [10], dtype: 'float32', storeAs: 'float32' }]);
    });
  });
}

describe('Lion', () => {
  beforeAll(() => useBackend('cpu'));

  it('follows the rule: sign of the interpolation, then the momentum update; sign(0) = 0', () => {
    const out = tf.tidy(() => {
      const r = lionRule(
        tf.tensor1d([1, 1, 1, 1]),
        tf.tensor1d([1, -1, 0, 2]),
        tf.tensor1d([0, 0, 0, -100]),
        {
          learningRate: 0.1,
          beta1: 0.9,
          beta2: 0.99,
          weightDecay: 0.5,
        },
      );
      return { p: Array.from(r.param.dataSync()), m: Array.from(r.m.dataSync()) };
    });
    const ref = lionStepRef(
      Float32Array.of(1, 1, 1, 1),
      Float32Array.of(1, -1, 0, 2),
      Float32Array.of(0, 0, 0, -100),
      { lr: 0.1, beta1: 0.9, beta2: 0.99, wd: 0.5 },
    );
    expect(out.p).toEqual(Array.from(ref.param));
    expect(out.m).toEqual(Array.from(ref.m));
    // decay 1 − 0.1·0.5 = 0.95, then −0.1·sign(c): c = 0.1, −0.1, 0, −90 + 0.2
    const f = Math.fround;
    expect(out.p).toEqual([f(f(0.95) - f(0.1)), f(f(0.95) + f(0.1)), f(0.95), f(f(0.95) + f(0.1))]);
  });

  it('stores 4 bytes per parameter in float32, 2 in bf16 and 1.016 in int8-blockwise (1000×1000, tf.memory())', () => {
    const n = 1_000_000;
    const x = tf.variable(tf.zeros([1000, 1000]));
    for (const [opt, bytes] of [
      [new Lion({ stateFormat: 'float32' }), 4 * n],
      [new Lion({ stateFormat: 'int8-blockwise' }), int8Bytes(n)],
      [new Lion({ stateFormat: 'bf16' }), 2 * n],
    ] as const) {
      const before = tf.memory().numBytes;
      opt.allocateState([x]);
      expect(tf.memory().numBytes - before).toBe(bytes);
      expect(opt.stateBytes()).toBe(bytes);
      opt.dispose();
    }
    expect(int8Bytes(n)).toBe(1_015_628);
    x.dispose();
  });

  for (const [stateFormat, measured, allowed] of [
    ['int8-blockwise', '0.13 %', 0.005],
    ['bf16', '0.024 %', 0.001],
  ] as const) {
    it(`with ${stateFormat} momentum takes the same update sign as float32 Lion for nearly every element`, async () => {
      // Both run freely from the same start on the same gradients, so the quantization error of the momentum
      // accumulates; each step's update (±lr, or 0) is compared element by element.
      const n = 65_536;
      const float = new Lion({ learningRate: 1e-3, stateFormat: 'float32' });
      const low = new Lion({ learningRate: 1e-3, stateFormat });
      const a = tf.variable(tf.zeros([n]));
      const b = tf.variable(tf.zeros([n]));
      let [pa, pb] = [await a.data(), await b.data()];
      let disagree = 0;
      for (let step = 0; step < 20; step++) {
        const g = tf.tensor1d(randn(step + 1, n, 0.01).map((v, i) => v + 0.003 * Math.sin(i)));
        float.applyGradients({ [a.name]: g });
        low.applyGradients({ [b.name]: g });
        g.dispose();
        const [na, nb] = [await a.data(), await b.data()];
        for (let i = 0; i < n; i++) if (Math.sign(na[i]! - pa[i]!) !== Math.sign(nb[i]! - pb[i]!)) disagree++;
        [pa, pb] = [na, nb];
      }
      // measured: ${measured} of the element-steps; a sign flips only where |c| is within the quantization error
      expect(disagree / (20 * n), measured).toBeLessThan(allowed);
      expect(disagree).toBeGreaterThan(0); // the comparison is live: the stored momentum is not float32
      tf.dispose([a, b]);
      float.dispose();
      low.dispose();
    });
  }

  it('registers lion on import with its defaults, and serializes its config', () => {
    expect(getOptimizerEntry('lion')?.source).toBe('@gradsign/optim-lion');
    expect(getOptimizerEntry('lion')).toMatchObject({ defaults: Lion.defaults, seeded: false });
    expect(getOptimizerEntry('lion')?.defaults.learningRate).toBe(new Lion().learningRate);
    const opt = createOptimizer('lion', { learningRate: 3e-4 });
    expect(opt).toBeInstanceOf(Lion);
    expect(opt.getConfig()).toEqual({
      learningRate: 3e-4,
      beta1: 0.9,
      beta2: 0.99,
      weightDecay: 0,
      stateFormat: 'int8-blockwise',
      minQuantizedSize: 4096,
      fused: true,
    });
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap.Lion!;
    const restored = fromConfig(cls, { ...opt.getConfig(), stateFormat: 'float32' }) as Lion;
    expect(restored.config.stateFormat).toBe('float32');
  });

  it('rejects bad hyperparameters and unknown options with invalid-config', () => {
    for (const config of [
      { beta1: 1 },
      { beta2: -0.1 },
      { weightDecay: -1 },
      { stateFormat: 'fp8' },
      { minQuantizedSize: 0.5 },
      { lr: 0.1 },
    ]) {
      let error: unknown;
      try {
        new Lion(config as object);
      } catch (e) {
        error = e;
      }
      expect((error as OptimizerError).code, JSON.stringify(config)).toBe('invalid-config');
    }
  });
});
