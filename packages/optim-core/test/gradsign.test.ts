import { bitsEqual, describeOptimizer, NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { GradSign, gradSignRule } from '../src/optimizers/gradsign.js';
import { gradSignGolden } from './golden.js';

describeOptimizer({
  name: 'GradSign',
  create: (overrides) => new GradSign({ learningRate: 0.01, seed: 7, ...overrides }),
  slots: ['counts'],
  integerSlots: ['counts'],
  golden: [gradSignGolden((learningRate) => new GradSign({ learningRate, init: 'zero' }))],
  quadratic: { steps: 400, maxRatio: 0.01 },
  rosenbrock: { steps: 1500, maxLoss: 0.05 },
  maxStateBytes: (n) => n + 4,
  stateSizes: [1, 3, 67, 66954, 1000003],
});

// The op-composed rule, which every backend can run, held to the same contract on the backends with a fused kernel.
describeOptimizer({
  name: 'GradSign (op-composed)',
  create: (overrides) => new GradSign({ learningRate: 0.01, seed: 7, fused: false, ...overrides }),
  slots: ['counts'],
  integerSlots: ['counts'],
  golden: [gradSignGolden((learningRate) => new GradSign({ learningRate, init: 'zero', fused: false }))],
  rosenbrock: false,
  maxStateBytes: (n) => n + 4,
  stateSizes: [1, 67],
});

for (const backend of NODE_BACKENDS) {
  it(`the fused kernel on ${backend} is bit-identical to the op-composed rule`, async () => {
    await useBackend(backend);
    const n = 4099; // not a multiple of 4: the last word has padding lanes
    const special = [
      0,
      -0,
      Number.NaN,
      1e-40,
      -1e-40,
      1e-30,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ];
    const gradValues = Float32Array.from({ length: n }, (_, i) =>
      i < special.length ? special[i]! : Math.sin(i * 7.3),
    );
    const run = (fused: boolean) => {
      const opt = new GradSign({ learningRate: 0.0123, seed: 11, fused });
      const x = tf.tidy(() => tf.variable(tf.randomNormal([n], 0, 1, 'float32', 5)));
      for (let step = 0; step < 5; step++) {
        const g = tf.tidy(() => tf.mul(tf.tensor1d(gradValues), step % 2 ? -1 : 1));
        opt.applyGradients({ [x.name]: g });
        g.dispose();
      }
      const counts = opt.readState(x, 'counts');
      const out = { param: x.dataSync() as Float32Array, counts: counts.dataSync() as Int32Array };
      tf.dispose([counts, x]);
      opt.dispose();
      return out;
    };
    const fused = run(true);
    const composed = run(false);
    expect(Array.from(fused.counts)).toEqual(Array.from(composed.counts));
    expect(bitsEqual(fused.param, composed.param)).toBe(true);
  });
}

describe('gradSignRule', () => {
  const run = (counts: number[], grads: number[]) =>
    tf.tidy(() => {
      const next = gradSignRule(
        tf.zeros([counts.length]),
        tf.tensor1d(grads),
        tf.tensor1d(counts, 'int32'),
        1,
      );
      return { counts: Array.from(next.counts.dataSync()), param: Array.from(next.param.dataSync()) };
    });

  it('decays with floor division (rounding half up) and adds ±8', () => {
    // c - floor((c + 4) / 8) + 8s, e.g. c = -3: -3 - floor(1/8) - 8 = -11; c = 4: 4 - 1 + 8 = 11
    expect(run([-3, 4, -64, 63, 0, -5], [-1, 1, -1, 1, 1, -1]).counts).toEqual([-11, 11, -64, 63, 8, -12]);
  });

  it('counts zero, negative zero and NaN as -1', () => {
    expect(run([0, 0, 0, 0], [0, -0, Number.NaN, 1e-40]).counts).toEqual([-8, -8, -8, 8]);
  });

  it('moves the parameter by lr · c / 64', () => {
    expect(run([0, 56], [1, 1]).param).toEqual([-8 / 64, -(56 - 7 + 8) / 64]);
  });

  it('keeps counters within [-64, 63] from any start in that range', () => {
    const all = Array.from({ length: 128 }, (_, i) => i - 64);
    for (const sign of [1, -1]) {
      let counts = all;
      for (let step = 0; step < 40; step++)
        counts = run(
          counts,
          counts.map(() => sign),
        ).counts;
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(-64);
      expect(Math.max(...counts)).toBeLessThanOrEqual(63);
      expect(new Set(counts.map((c) => (sign > 0 ? c >= 60 : c <= -61)))).toEqual(new Set([true]));
    }
  });
});

describe('GradSign counter initialisation', () => {
  const initialCounts = (config: ConstructorParameters<typeof GradSign>[0], size = 8192) => {
    const opt = new GradSign(config);
    const x = tf.variable(tf.zeros([size]));
    opt.allocateState([x]);
    const counts = opt.readState(x, 'counts');
    const values = Array.from(counts.dataSync());
    tf.dispose([counts, x]);
    opt.dispose();
    return values;
  };

  it('is uniform in [-64, 63] and reproducible from the seed', () => {
    const a = initialCounts({ seed: 1 });
    expect(initialCounts({ seed: 1 })).toEqual(a);
    expect(initialCounts({ seed: 2 })).not.toEqual(a);
    expect(Math.min(...a)).toBe(-64);
    expect(Math.max(...a)).toBe(63);
    const mean = a.reduce((s, c) => s + c, 0) / a.length;
    expect(Math.abs(mean - -0.5)).toBeLessThan(1.5); // sd of the mean is 37 / sqrt(8192) ≈ 0.4
    const perValue = new Map<number, number>();
    for (const c of a) perValue.set(c, (perValue.get(c) ?? 0) + 1);
    expect(perValue.size).toBe(128);
  });

  it("starts every counter at 0 with init 'zero'", () => {
    expect(new Set(initialCounts({ init: 'zero' }))).toEqual(new Set([0]));
  });

  it('rejects an unknown init or a non-integer seed', () => {
    expect(() => new GradSign({ init: 'ones' as 'zero' })).toThrow(/init must be one of/);
    expect(() => new GradSign({ seed: 0.5 })).toThrow(/seed must be an integer/);
  });
});
