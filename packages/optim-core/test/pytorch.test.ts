import { describe, expect, it } from 'vitest';
import { Adam, AdamW, SGD } from '../src/index.js';
import { fromPyTorch } from '../src/pytorch.js';

describe('fromPyTorch', () => {
  it("maps PyTorch's names to ours", () => {
    const adam = fromPyTorch('Adam', {
      lr: 0.01,
      betas: [0.8, 0.99],
      eps: 1e-6,
      weight_decay: 0.1,
      foreach: false,
    });
    expect(adam).toBeInstanceOf(Adam);
    expect(adam.getConfig()).toEqual({
      learningRate: 0.01,
      beta1: 0.8,
      beta2: 0.99,
      epsilon: 1e-6,
      weightDecay: 0.1,
      fused: true,
    });
    expect(fromPyTorch('AdamW', { lr: 0.001 })).toBeInstanceOf(AdamW);
    expect(fromPyTorch('AdamW', {}).getConfig()).toMatchObject({ weightDecay: 0.01, epsilon: 1e-8 });
    const sgd = fromPyTorch('SGD', { lr: 0.03, momentum: 0.9, dampening: 0, nesterov: true });
    expect(sgd).toBeInstanceOf(SGD);
    expect(sgd.getConfig()).toEqual({ learningRate: 0.03, momentum: 0.9, nesterov: true, weightDecay: 0 });
  });

  it('refuses what it cannot honour instead of ignoring it', () => {
    expect(() => fromPyTorch('Adam', { amsgrad: true })).toThrow(/amsgrad=true is not supported/);
    expect(() => fromPyTorch('SGD', { lr: 0.1, dampening: 0.5 })).toThrow(/dampening=0.5 is not supported/);
    expect(() => fromPyTorch('SGD', { lr: 0.1, maximize: true })).toThrow(/maximize=true/);
    expect(() => fromPyTorch('Adam', { learning_rate: 0.1 })).toThrow(/unknown option\(s\) learning_rate/);
    expect(() => fromPyTorch('Adam', { lr: -1 })).toThrow(/learningRate must be a positive finite number/);
  });
});
