import { describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  createOptimizer,
  fromClass,
  GradSign,
  getOptimizerEntry,
  listOptimizers,
  OptimizerError,
  positiveFinite,
  registerOptimizer,
  SGD,
  type SlotSpec,
  StatefulOptimizer,
  type UpdateInput,
  type UpdateResult,
} from '../src/index.js';

describe('optimizer registry', () => {
  it('has the built-ins under their names, with config mapped', () => {
    expect(listOptimizers().map((e) => e.name)).toEqual(
      expect.arrayContaining(['gradsign', 'adam', 'adamw', 'sgd']),
    );
    const g = createOptimizer('gradsign', { learningRate: 0.01, init: 'zero', seed: 3 });
    expect(g).toBeInstanceOf(GradSign);
    expect(g.getConfig()).toEqual({
      learningRate: 0.01,
      init: 'zero',
      seed: 3,
      timescale: 8,
      zeroGradient: 'negative',
      fused: true,
    });
    expect(createOptimizer('ADAM', { beta2: 0.99 }).getConfig()).toMatchObject({
      beta2: 0.99,
      learningRate: 0.001,
    });
    expect(createOptimizer('adamw')).toBeInstanceOf(AdamW);
    expect(createOptimizer('sgd', { momentum: 0.9, nesterov: true })).toBeInstanceOf(SGD);
  });

  it('names the known optimizers when the name is unknown', () => {
    expect(() => createOptimizer('adagrad')).toThrow(
      /unknown optimizer 'adagrad'; registered: gradsign, adam/,
    );
  });

  it('refuses to shadow a registered name unless asked to', () => {
    const entry = { name: 'adam', description: 'x', defaults: {}, create: () => new Adam() };
    expect(() => registerOptimizer(entry)).toThrow(OptimizerError);
    expect(() => registerOptimizer({ ...entry, name: 'Bad Name' })).toThrow(/must match/);
    registerOptimizer({ ...entry, name: 'test-only', source: 'this test' });
    expect(() => registerOptimizer({ ...entry, name: 'test-only' })).toThrow(
      /already registered \(by this test\)/,
    );
    expect(createOptimizer('test-only')).toBeInstanceOf(Adam);
  });

  it('rejects misspelled options instead of ignoring them', () => {
    expect(() => createOptimizer('sgd', { learning_rate: 0.1 })).toThrow(/unknown option 'learning_rate'/);
  });

  it('takes what each built-in is from its class: defaults, options and whether it is seeded', () => {
    for (const [name, type] of [
      ['gradsign', GradSign],
      ['adam', Adam],
      ['adamw', AdamW],
      ['sgd', SGD],
    ] as const) {
      const entry = getOptimizerEntry(name)!;
      expect(entry.defaults, name).toEqual(type.defaults);
      expect(entry.options, name).toEqual(Object.keys(type.options));
      expect(entry.seeded, name).toBe(name === 'gradsign');
      expect(entry.source, name).toBe('@gradsign/optim-core');
    }
    expect(getOptimizerEntry('gradsign')!.defaults.learningRate).toBe(new GradSign().learningRate);
    expect(getOptimizerEntry('adamw')!.defaults.weightDecay).toBe(0.01);
  });

  it('derives an entry from a class that describes itself, seeded when it has a seed option', () => {
    interface NoisyConfig {
      learningRate?: number;
      seed?: number;
    }
    class Noisy extends StatefulOptimizer {
      static readonly defaults: Required<NoisyConfig> = { learningRate: 0.5, seed: 7 };
      static readonly options = { learningRate: positiveFinite, seed: positiveFinite };
      readonly config: Required<NoisyConfig>;
      constructor(config: NoisyConfig = {}) {
        const merged = { ...Noisy.defaults, ...config };
        super(merged.learningRate);
        this.config = merged;
      }
      protected slotSpecs(): readonly SlotSpec[] {
        return [];
      }
      protected update({ param }: UpdateInput): UpdateResult {
        return { param, state: {} };
      }
      override getConfig() {
        return { ...this.config };
      }
    }
    const entry = fromClass(Noisy, {
      name: 'noisy-test',
      description: 'a test optimizer',
      source: 'this test',
    });
    expect(entry).toMatchObject({
      name: 'noisy-test',
      description: 'a test optimizer',
      source: 'this test',
      defaults: { learningRate: 0.5, seed: 7 },
      options: ['learningRate', 'seed'],
      seeded: true,
    });
    registerOptimizer(entry);
    const made = createOptimizer('noisy-test', { seed: 3 }) as Noisy;
    expect(made).toBeInstanceOf(Noisy);
    expect(made.config).toEqual({ learningRate: 0.5, seed: 3 });
    expect(fromClass(SGD, { name: 'x', description: 'x' }).seeded).toBe(false);
  });
});
