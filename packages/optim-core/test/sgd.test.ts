import { describeOptimizer } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { SGD } from '../src/optimizers/sgd.js';
import { fromPyTorch } from '../src/pytorch.js';
import { variantGolden } from './golden.js';

const golden = variantGolden('sgd.json', { momentum: 'momentum_buffer' }, (_variant, config) =>
  fromPyTorch('SGD', config),
);

describeOptimizer({
  name: 'SGD',
  create: (overrides) => new SGD({ learningRate: 0.1, ...overrides }),
  slots: [],
  golden,
  quadratic: { steps: 200, maxRatio: 0.01 },
  rosenbrock: false,
  maxStateBytes: () => 0,
});

describeOptimizer({
  name: 'SGD with momentum',
  create: (overrides) => new SGD({ learningRate: 0.0005, momentum: 0.9, ...overrides }),
  slots: ['momentum'],
  quadratic: { steps: 400, maxRatio: 0.01 },
  rosenbrock: { steps: 3000, maxLoss: 0.05 },
  maxStateBytes: (n) => 4 * n,
});

describe('SGD', () => {
  it('applies weight decay as g += wd·p', () => {
    const opt = new SGD({ learningRate: 0.5, weightDecay: 0.1 });
    const x = tf.variable(tf.tensor1d([2, -4]));
    opt.applyGradients({ [x.name]: tf.tensor1d([1, 1]) });
    expect(Array.from(x.dataSync())).toEqual([2 - 0.5 * (1 + 0.2), -4 - 0.5 * (1 - 0.4)].map(Math.fround));
    opt.dispose();
    x.dispose();
  });

  it('rejects Nesterov without momentum, and momentum outside [0, 1)', () => {
    expect(() => new SGD({ nesterov: true })).toThrow(/nesterov needs a momentum/);
    expect(() => new SGD({ momentum: 1 })).toThrow(/momentum must be in \[0, 1\)/);
  });
});
