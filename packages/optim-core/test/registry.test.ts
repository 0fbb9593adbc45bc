import { describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  createOptimizer,
  GradSign,
  listOptimizers,
  OptimizerError,
  registerOptimizer,
  SGD,
} from '../src/index.js';

describe('optimizer registry', () => {
  it('has the built-ins under their names, with config mapped', () => {
    expect(listOptimizers().map((e) => e.name)).toEqual(
      expect.arrayContaining(['gradsign', 'adam', 'adamw', 'sgd']),
    );
    const g = createOptimizer('gradsign', { learningRate: 0.01, init: 'zero', seed: 3 });
    expect(g).toBeInstanceOf(GradSign);
    expect(g.getConfig()).toEqual({ learningRate: 0.01, init: 'zero', seed: 3, fused: true });
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
});
