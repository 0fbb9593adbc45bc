import { describeOptimizer } from '@gradsign/optim-testkit';
import { describe, expect, it } from 'vitest';
import { Adam, AdamW } from '../src/optimizers/adam.js';
import { fromPyTorch } from '../src/pytorch.js';
import { variantGolden } from './golden.js';

const golden = variantGolden('adam.json', { m: 'exp_avg', v: 'exp_avg_sq' }, (variant, config) =>
  fromPyTorch(variant === 'adamw' ? 'AdamW' : 'Adam', config),
);

describeOptimizer({
  name: 'Adam',
  create: (overrides) => new Adam({ learningRate: 0.05, ...overrides }),
  slots: ['m', 'v'],
  golden,
  quadratic: { steps: 400, maxRatio: 0.01 },
  rosenbrock: { steps: 2000, maxLoss: 0.05 },
  maxStateBytes: (n) => 8 * n,
});

describeOptimizer({
  name: 'AdamW',
  create: (overrides) => new AdamW({ learningRate: 0.05, ...overrides }),
  slots: ['m', 'v'],
  rosenbrock: false,
  backends: ['cpu'],
});

describe('Adam configuration', () => {
  it('uses PyTorch defaults (eps 1e-8, not tfjs 1e-7)', () => {
    expect(new Adam().getConfig()).toEqual({
      learningRate: 0.001,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0,
      fused: true,
    });
    expect(new AdamW().getConfig()).toMatchObject({ weightDecay: 0.01 });
  });

  it('rejects betas outside [0, 1), negative eps or weight decay, and unknown options', () => {
    for (const beta1 of [1, -0.1, 1.5, Number.NaN])
      expect(() => new Adam({ beta1 })).toThrow(/beta1 must be in \[0, 1\)/);
    expect(() => new Adam({ beta2: 1 })).toThrow(/beta2 must be in \[0, 1\)/);
    expect(() => new Adam({ epsilon: -1 })).toThrow(/epsilon/);
    expect(() => new Adam({ weightDecay: Number.NaN })).toThrow(/weightDecay/);
    expect(() => new Adam({ lr: 0.1 } as object)).toThrow(/unknown option 'lr'/);
  });

  it('keeps a learning-rate change valid', () => {
    const opt = new Adam();
    opt.learningRate = 0.01;
    expect(opt.getConfig().learningRate).toBe(0.01);
    expect(() => {
      opt.learningRate = Number.NaN;
    }).toThrow(/learningRate/);
    expect(opt.learningRate).toBe(0.01);
  });
});
