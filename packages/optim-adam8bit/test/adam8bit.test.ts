import {
  Adam,
  AdamW,
  blockwise8,
  createOptimizer,
  getOptimizerEntry,
  type OptimizerError,
} from '@gradsign/optim-core';
import { bitsEqual, describeOptimizer, NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam8bit, AdamW8bit, adam8bitFormats, codeFromValues, DYNAMIC_UNSIGNED } from '../src/index.js';
import { compareWithFloatAdam } from './compare.js';
import { randn } from './reference.js';

/** Block-wise bytes of one slot for n elements at 4 codes per word (cpu, wasm). */
const slotBytes = (n: number) => 4 * Math.ceil(n / 4) + 4 * Math.ceil(n / 256);

describeOptimizer({
  name: 'Adam8bit',
  create: (overrides) => new Adam8bit({ learningRate: 0.05, ...overrides }),
  slots: ['m', 'v'],
  quadratic: { steps: 400, maxRatio: 0.01 },
  rosenbrock: { steps: 2000, maxLoss: 0.05 },
  maxStateBytes: (n) => (n < 4096 ? 8 * n : 2 * slotBytes(n)),
  stateSizes: [1, 67, 4095, 4096, 66954],
});

describeOptimizer({
  name: 'Adam8bit with every tensor quantized',
  create: (overrides) => new Adam8bit({ learningRate: 0.05, minQuantizedSize: 0, ...overrides }),
  slots: ['m', 'v'],
  quadratic: { steps: 400, maxRatio: 0.01 },
  rosenbrock: { steps: 2000, maxLoss: 0.05 },
  maxStateBytes: (n) => 2 * slotBytes(n),
});

describe('Adam8bit against float32 Adam, as bitsandbytes tests it (1024×64, 50 steps)', () => {
  for (const backend of NODE_BACKENDS) {
    it(`keeps each step's state and parameter error small, and survives checkpoints bit for bit (${backend})`, async () => {
      await useBackend(backend);
      const stats = await compareWithFloatAdam(adam8bitFormats(), {
        shape: [1024, 64],
        steps: 50,
        resync: true,
        roundTripEvery: 10,
      });
      expect(stats).toHaveLength(50);
      for (const [step, s] of stats.entries()) {
        const where = `step ${step + 1}`;
        // bitsandbytes: no parameter outside atol 1e-5 / rtol 1e-3, mean error < 6e-5, mean relative < 6e-4 (here
        // exact by construction: the rule uses the unquantized new moments, and both runs start re-synced)
        expect(s.paramsOff, where).toBe(0);
        expect(s.meanError, where).toBeLessThan(6e-5);
        expect(s.meanRelError, where).toBeLessThan(6e-4);
        // bitsandbytes: fewer than 20 state elements outside atol 3e-3 / rtol 1e-3 (of 4.2M there; 65k here)
        expect(s.stateOff.m, where).toBeLessThan(20);
        expect(s.stateOff.v, where).toBeLessThan(20);
        // tighter than bitsandbytes, since its atol is far above these states' scale: the mean relative error
        // of the dequantized state (measured: m ≤ 1.1 %, v ≤ 0.7 %; a 16-level code gives m ≈ 12 %)
        expect(s.stateRelError.m, where).toBeLessThan(0.02);
        expect(s.stateRelError.v, where).toBeLessThan(0.015);
      }
    });
  }

  it('fails the same check with a coarse 16-level code for m (the check can fail)', async () => {
    await useBackend('wasm');
    const levels = Array.from(
      { length: 256 },
      (_, k) => (Math.round(((k - 127.5) / 127.5) * 8) / 8) * 0.99 + (k - 127.5) * 1e-6,
    );
    const coarse = {
      m: blockwise8({ code: codeFromValues('coarse', levels) }),
      v: blockwise8({ code: DYNAMIC_UNSIGNED }),
    };
    const stats = await compareWithFloatAdam(coarse, { shape: [1024, 64], steps: 10, resync: true });
    expect(Math.max(...stats.map((s) => s.stateRelError.m!))).toBeGreaterThan(0.05);
  });

  it('drifts from float32 Adam by about 2 % of the distance travelled when both run freely for 50 steps', async () => {
    await useBackend('wasm');
    const stats = await compareWithFloatAdam(adam8bitFormats(), {
      shape: [1024, 64],
      steps: 50,
      resync: false,
    });
    const last = stats[49]!;
    // measured: mean |p8 - p32| = 1.2e-4 against a mean displacement of 6.3e-3 (a 16-level code: 20 %)
    expect(last.meanError / last.meanDisplacement).toBeLessThan(0.05);
    expect(last.meanDisplacement).toBeGreaterThan(1e-3);
  });
});

describe('Adam8bit', () => {
  beforeAll(() => useBackend('cpu'));

  it("is optim-core's Adam, unchanged, with 8-bit slot formats (same results bit for bit)", async () => {
    for (const [a, b] of [
      [new Adam8bit({ learningRate: 0.01 }), new Adam({ learningRate: 0.01 }, adam8bitFormats())],
      [new AdamW8bit({ learningRate: 0.01 }), new AdamW({ learningRate: 0.01 }, adam8bitFormats())],
    ] as const) {
      const xa = tf.variable(tf.tensor1d(randn(1, 5000, 0.1)));
      const xb = tf.variable(tf.clone(xa));
      for (let step = 0; step < 5; step++) {
        const g = tf.tensor1d(randn(100 + step, 5000, 0.01));
        a.applyGradients({ [xa.name]: g });
        b.applyGradients({ [xb.name]: g });
        g.dispose();
      }
      expect(bitsEqual((await xa.data()) as Float32Array, (await xb.data()) as Float32Array)).toBe(true);
      const [wa, wb] = [await a.getWeights(), await b.getWeights()];
      expect(wa.map((w) => w.name.replace(xa.name, ''))).toEqual(wb.map((w) => w.name.replace(xb.name, '')));
      for (const [i, w] of wa.entries()) {
        const other = wb[i]!.tensor.dataSync() as Float32Array;
        expect(bitsEqual(w.tensor.dataSync() as Float32Array, other)).toBe(true);
      }
      tf.dispose([xa, xb, ...wa.map((w) => w.tensor), ...wb.map((w) => w.tensor)]);
      a.dispose();
      b.dispose();
    }
  });

  it('holds 2.03 bytes per parameter for a 1000×1000 weight (tf.memory()), Adam 8', () => {
    const n = 1_000_000;
    const x = tf.variable(tf.zeros([1000, 1000]));
    for (const [opt, bytes] of [
      [new Adam8bit(), 2 * slotBytes(n)],
      [new Adam(), 8 * n],
    ] as const) {
      const before = tf.memory().numBytes;
      opt.allocateState([x]);
      expect(tf.memory().numBytes - before).toBe(bytes);
      expect(opt.stateBytes()).toBe(bytes);
      opt.dispose();
    }
    expect((2 * slotBytes(n)) / n).toBeCloseTo(2.03125, 4);
    x.dispose();
  });

  it('describes its state: codes (uint8) and absmax per moment, float32 below 4096 elements', () => {
    const opt = new Adam8bit();
    const big = tf.variable(tf.zeros([64, 64]));
    const small = tf.variable(tf.zeros([10]));
    opt.allocateState([big, small]);
    const entries = opt.describeState();
    expect(
      entries.map((e) => [e.slot, e.format, e.parts.map((p) => `${p.suffix}:${p.storeAs}`).join(' ')]),
    ).toEqual([
      ['m', 'blockwise8-dynamic', 'codes:uint8 absmax:float32'],
      ['v', 'blockwise8-udynamic', 'codes:uint8 absmax:float32'],
      ['m', 'blockwise8-dynamic', ':float32'],
      ['v', 'blockwise8-udynamic', ':float32'],
    ]);
    opt.dispose();
    tf.dispose([big, small]);
  });

  it('registers adam8bit and adamw8bit on import, and serializes its config', () => {
    expect(getOptimizerEntry('adam8bit')?.source).toBe('@gradsign/optim-adam8bit');
    // The entries come from the classes: their defaults (AdamW's weight decay included) and options, unseeded.
    expect(getOptimizerEntry('adam8bit')).toMatchObject({ defaults: Adam8bit.defaults, seeded: false });
    expect(getOptimizerEntry('adamw8bit')).toMatchObject({
      defaults: { weightDecay: 0.01, minQuantizedSize: 4096 },
    });
    expect(getOptimizerEntry('adamw8bit')?.options).toEqual([
      'learningRate',
      'beta1',
      'beta2',
      'epsilon',
      'weightDecay',
      'fused',
      'minQuantizedSize',
    ]);
    const opt = createOptimizer('adam8bit', { learningRate: 0.002, minQuantizedSize: 100 });
    expect(opt).toBeInstanceOf(Adam8bit);
    expect(opt.getConfig()).toEqual({
      learningRate: 0.002,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0,
      minQuantizedSize: 100,
      fused: true,
    });
    const copy = tf.serialization.SerializationMap.getMap().classNameMap['gradsign.Adam8bit']!;
    const restored = copy[1](copy[0], opt.getConfig()) as Adam8bit;
    expect(restored).toBeInstanceOf(Adam8bit);
    expect(restored.minQuantizedSize).toBe(100);
    const w = createOptimizer('adamw8bit', { minQuantizedSize: 100 });
    expect(w).toBeInstanceOf(AdamW8bit);
    expect(w).toBeInstanceOf(AdamW);
    expect(w.getClassName()).toBe('gradsign.AdamW8bit');
    expect(w.getConfig()).toEqual({
      learningRate: 0.001,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0.01,
      minQuantizedSize: 100,
      fused: true,
    });
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap.AdamW8bit!;
    const back = fromConfig(cls, w.getConfig()) as AdamW8bit;
    expect(back).toBeInstanceOf(AdamW8bit);
    expect(back.getConfig()).toEqual(w.getConfig());
  });

  it('rejects a bad minQuantizedSize and unknown options with invalid-config', () => {
    for (const create of [(c: object) => new Adam8bit(c), (c: object) => new AdamW8bit(c)]) {
      for (const config of [{ minQuantizedSize: -1 }, { minQuantizedSize: 1.5 }, { blocksize: 128 }]) {
        let error: unknown;
        try {
          create(config);
        } catch (e) {
          error = e;
        }
        expect((error as OptimizerError).code).toBe('invalid-config');
      }
    }
    expect(() => new AdamW8bit({ blocksize: 128 } as object)).toThrow(
      /AdamW8bit: unknown option 'blocksize'; known options: .*weightDecay, fused, minQuantizedSize/,
    );
    expect(() => new Adam8bit({ minQuantizedSize: 1.5 })).toThrow(
      /Adam8bit: minQuantizedSize must be an integer/,
    );
  });
});
