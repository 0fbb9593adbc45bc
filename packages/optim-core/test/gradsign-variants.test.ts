import { bitsEqual, describeOptimizer, NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gradSignPacked4Step } from '../src/kernels/gradsign-packed4.js';
import {
  GRADSIGN_TIMESCALES,
  GradSign,
  type GradSignTimescale,
  gradSignCounters,
  gradSignRule,
  type ZeroGradient,
} from '../src/optimizers/gradsign.js';
import { createOptimizer, GRADSIGN_ABLATIONS, getOptimizerEntry } from '../src/registry.js';
import { packInt8 } from '../src/state/packed-int8.js';

const timescale = fc.constantFrom(...GRADSIGN_TIMESCALES);
const zeroGradient = fc.constantFrom<ZeroGradient>('negative', 'zero');
/** Gradients of every sign class: positive, negative, zeros of both signs, NaN, infinities, subnormals. */
const gradient = fc.oneof(
  fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-40, -1e-40),
  fc.float({ noNaN: true }),
);

/** One step of the op-composed rule on plain arrays (cpu). */
function ruleStep(counts: number[], grads: number[], t: GradSignTimescale, z: ZeroGradient, lr = 1) {
  return tf.tidy(() => {
    const next = gradSignRule(
      tf.zeros([counts.length]),
      tf.tensor1d(grads),
      tf.tensor1d(counts, 'int32'),
      lr,
      gradSignCounters(t, z),
    );
    return { counts: Array.from(next.counts.dataSync()), param: next.param.dataSync() as Float32Array };
  });
}

describe('GradSign counter constants', () => {
  it('keep every counter an int8, and one starting in [low, high] there, under any gradients', async () => {
    await useBackend('cpu');
    const int8 = fc.integer({ min: -128, max: 127 });
    const property = fc.property(
      timescale,
      zeroGradient,
      fc.array(int8, { minLength: 1, maxLength: 12 }),
      fc.array(fc.array(gradient, { minLength: 12, maxLength: 12 }), { minLength: 1, maxLength: 40 }),
      fc.nat(),
      (t, z, start, steps, offset) => {
        const { low, high } = gradSignCounters(t, z);
        // half the counters anywhere in int8, the other half in the counter's own range
        let counts = start.map((c, i) => (i % 2 ? c : low + ((c + 128 + offset) % (high - low + 1))));
        for (const grads of steps) {
          counts = ruleStep(counts, grads.slice(0, counts.length), t, z).counts;
          for (const [i, c] of counts.entries()) {
            expect(c).toBeGreaterThanOrEqual(i % 2 ? -128 : low);
            expect(c).toBeLessThanOrEqual(i % 2 ? 127 : high);
          }
        }
      },
    );
    fc.assert(property, { numRuns: 150 });
  });

  it('settle within T/2 of ±kT under a constant sign, at least the reference’s ±64 and at most int8', async () => {
    await useBackend('cpu');
    for (const t of GRADSIGN_TIMESCALES) {
      const { increment: k, scale, low, high } = gradSignCounters(t);
      expect(k * t).toBeGreaterThanOrEqual(64);
      expect(k).toBeGreaterThanOrEqual(8); // the reference's rounding precision, 1/(2k) of the range
      expect(scale * k * t).toBe(1); // lr · c · scale: the sign EMA in [-1, 1)
      for (const sign of [1, -1]) {
        let counts = [0, low, high];
        for (let step = 0; step < 20 * t; step++)
          counts = ruleStep(counts, [sign, sign, sign], t, 'negative').counts;
        for (const c of counts)
          expect(Math.abs(c - sign * k * t), `T=${t} s=${sign}`).toBeLessThanOrEqual(t / 2);
      }
    }
  });

  it('with zeroGradient "zero", a zero gradient only decays the counter; with "negative" it pushes by -k', async () => {
    await useBackend('cpu');
    for (const t of GRADSIGN_TIMESCALES) {
      const { increment: k, low, high } = gradSignCounters(t);
      const all = Array.from({ length: high - low + 1 }, (_, i) => low + i);
      const decayed = all.map((c) => c - Math.floor((c + t / 2) / t));
      for (const g of [0, -0, Number.NaN]) {
        const grads = all.map(() => g);
        expect(ruleStep(all, grads, t, 'zero').counts).toEqual(decayed);
        expect(ruleStep(all, grads, t, 'negative').counts).toEqual(decayed.map((c) => c - k));
      }
    }
  });

  it('the packed kernel’s loop computes the op-composed rule bit for bit for every variant', async () => {
    await useBackend('cpu');
    const property = fc.property(
      timescale,
      zeroGradient,
      fc.array(fc.tuple(fc.integer({ min: -128, max: 127 }), gradient, fc.float({ noNaN: true })), {
        minLength: 1,
        maxLength: 23,
      }),
      fc.float({ min: Math.fround(1e-5), max: 1, noNaN: true }),
      (t, z, cells, lr) => {
        const counters = gradSignCounters(t, z);
        const counts = cells.map(([c]) => c);
        const grad = Float32Array.from(cells, ([, g]) => g);
        const param = Float32Array.from(cells, ([, , p]) => p);
        const words = tf.tidy(() => packInt8(tf.tensor1d(counts, 'int32'), 4).dataSync() as Int32Array);
        const outParam = new Float32Array(param.length);
        const outWords = new Int32Array(words.length);
        gradSignPacked4Step(param, grad, words, lr, outParam, outWords, counters);
        const expected = tf.tidy(() => {
          const next = gradSignRule(
            tf.tensor1d(param),
            tf.tensor1d(grad),
            tf.tensor1d(counts, 'int32'),
            lr,
            counters,
          );
          return { param: next.param.dataSync() as Float32Array, words: packInt8(next.counts, 4).dataSync() };
        });
        expect(Array.from(outWords)).toEqual(Array.from(expected.words));
        expect(bitsEqual(outParam, expected.param)).toBe(true);
      },
    );
    fc.assert(property, { numRuns: 200 });
  });
});

const VARIANTS = [
  { timescale: 4 },
  { timescale: 16 },
  { zeroGradient: 'zero' },
  { timescale: 16, zeroGradient: 'zero', init: 'zero' },
] as const;

for (const backend of NODE_BACKENDS) {
  it(`the fused kernel on ${backend} is bit-identical to the op-composed rule for every variant`, async () => {
    await useBackend(backend);
    const n = 1027; // not a multiple of 4: the last word has padding lanes
    const gradValues = Float32Array.from({ length: n }, (_, i) =>
      i % 5 === 0 ? (i % 10 === 0 ? 0 : Number.NaN) : Math.sin(i * 7.3),
    );
    for (const variant of VARIANTS) {
      const run = (fused: boolean) => {
        const opt = new GradSign({ learningRate: 0.0123, seed: 11, fused, ...variant });
        const x = tf.tidy(() => tf.variable(tf.randomNormal([n], 0, 1, 'float32', 5)));
        for (let step = 0; step < 6; step++) {
          const g = tf.tidy(() => tf.mul(tf.tensor1d(gradValues), step % 3 ? -1 : 1));
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
      expect(Array.from(fused.counts), JSON.stringify(variant)).toEqual(Array.from(composed.counts));
      expect(bitsEqual(fused.param, composed.param), JSON.stringify(variant)).toBe(true);
    }
  });
}

describe('GradSign variant options', () => {
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

  it('draws random counters uniformly over the timescale’s range, from the seed', async () => {
    await useBackend('cpu');
    for (const t of GRADSIGN_TIMESCALES) {
      const { low, high } = gradSignCounters(t);
      const a = initialCounts({ seed: 3, timescale: t });
      expect(initialCounts({ seed: 3, timescale: t })).toEqual(a);
      expect(Math.min(...a)).toBe(low);
      expect(Math.max(...a)).toBe(high);
      expect(new Set(a).size).toBe(high - low + 1);
      const mean = a.reduce((s, c) => s + c, 0) / a.length;
      expect(Math.abs(mean - (low + high) / 2)).toBeLessThan(((high - low) / Math.sqrt(12 * a.length)) * 4);
    }
  });

  it('rejects a bad timescale or zeroGradient, naming the value, before any work', () => {
    expect(() => new GradSign({ timescale: 5 as 8 })).toThrow(/timescale must be one of 4, 8, 16, got 5/);
    expect(() => new GradSign({ timescale: '8' as unknown as 8 })).toThrow(/timescale .* got '8'/);
    expect(() => new GradSign({ zeroGradient: 'skip' as 'zero' })).toThrow(
      /zeroGradient must be one of 'negative', 'zero', got 'skip'/,
    );
  });

  it('round-trips every option through getConfig / fromConfig', () => {
    const opt = new GradSign({
      learningRate: 0.02,
      timescale: 16,
      zeroGradient: 'zero',
      init: 'zero',
      seed: 4,
    });
    const rebuilt = GradSign.fromConfig(GradSign, opt.getConfig()) as GradSign;
    expect(rebuilt.getConfig()).toEqual(opt.getConfig());
    expect(rebuilt.counters).toEqual(gradSignCounters(16, 'zero'));
  });
});

describe('registered GradSign ablations', () => {
  const names = Object.keys(GRADSIGN_ABLATIONS);

  it('are registered by name, seeded, with their option over the reference defaults', () => {
    expect(names).toEqual(['gradsign-t4', 'gradsign-t16', 'gradsign-zero-init', 'gradsign-zero-as-zero']);
    for (const name of names) {
      const entry = getOptimizerEntry(name)!;
      expect(entry.seeded, name).toBe(true);
      const opt = createOptimizer(name, { learningRate: 0.01, seed: 2 });
      expect(opt, name).toBeInstanceOf(GradSign);
      expect(opt.getConfig(), name).toEqual({
        ...GradSign.defaults,
        learningRate: 0.01,
        seed: 2,
        ...GRADSIGN_ABLATIONS[name]!.config,
      });
      opt.dispose();
    }
  });

  it('each hold one byte of state per parameter, as tf.memory() and getWeights measure it', async () => {
    await useBackend('wasm');
    const sizes = [1, 67, 4099, 100_000];
    for (const name of ['gradsign', ...names]) {
      const opt = createOptimizer(name, { seed: 5 }) as GradSign;
      const variables = sizes.map((n) => tf.variable(tf.zeros([n])));
      const before = tf.memory().numBytes;
      opt.allocateState(variables);
      const measured = tf.memory().numBytes - before;
      expect(opt.stateBytes(), name).toBe(measured);
      const params = sizes.reduce((a, b) => a + b, 0);
      // packed 4 to a word: at most 3 padding bytes per variable
      expect(measured, name).toBeGreaterThanOrEqual(params);
      expect(measured, name).toBeLessThanOrEqual(params + 3 * sizes.length);
      // what the state holds is one int8 per parameter: every saved counter is a byte in the variant's range
      const counts = (await opt.getWeights()).filter((w) => w.name.endsWith('/counts'));
      expect(
        counts.reduce((s, w) => s + w.tensor.size, 0),
        name,
      ).toBe(params);
      for (const { tensor } of counts) {
        const values = tensor.dataSync();
        expect(Math.min(...values), name).toBeGreaterThanOrEqual(opt.counters.low);
        expect(Math.max(...values), name).toBeLessThanOrEqual(opt.counters.high);
        expect(opt.counters.low).toBeGreaterThanOrEqual(-128);
        expect(opt.counters.high).toBeLessThanOrEqual(127);
      }
      tf.dispose([...variables, ...counts.map((w) => w.tensor)]);
      opt.dispose();
    }
  });
});

describeOptimizer({
  name: 'GradSign (timescale 16, zero gradient as 0)',
  create: (overrides) =>
    new GradSign({ learningRate: 0.01, seed: 7, timescale: 16, zeroGradient: 'zero', ...overrides }),
  slots: ['counts'],
  integerSlots: ['counts'],
  quadratic: { steps: 400, maxRatio: 0.01 },
  rosenbrock: false,
  maxStateBytes: (n) => n + 3,
  stateSizes: [1, 67, 4099],
});
