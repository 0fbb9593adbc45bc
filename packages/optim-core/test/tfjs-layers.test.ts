import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { GradSign } from '../src/index.js';

describe('tfjs-layers integration', () => {
  beforeAll(() => tf.setBackend('cpu'));

  it('trains a model compiled with GradSign through model.fit', async () => {
    // A linearly separable two-class problem: the label is whether x0 + x1 > 0.
    const n = 256;
    const xsData = Float32Array.from({ length: 2 * n }, (_, i) => Math.sin(i * 12.9898) * 2);
    const ysData = Float32Array.from({ length: n }, (_, i) =>
      xsData[2 * i]! + xsData[2 * i + 1]! > 0 ? 1 : 0,
    );
    const xs = tf.tensor2d(xsData, [n, 2]);
    const ys = tf.tensor2d(ysData, [n, 1]);

    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ inputShape: [2], units: 8, activation: 'relu' }),
        tfl.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    const optimizer = new GradSign({ learningRate: 0.01, seed: 1 });
    model.compile({ optimizer, loss: 'binaryCrossentropy', metrics: ['accuracy'] });
    const history = await model.fit(xs, ys, { epochs: 30, batchSize: 32, shuffle: false, verbose: 0 });

    const losses = history.history.loss as number[];
    const accuracy = history.history.acc as number[];
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
    expect(accuracy.at(-1)!).toBeGreaterThan(0.9);
    // One byte per parameter (rounded up to whole int32 words per variable).
    const params = model.countParams();
    expect(optimizer.stateBytes()).toBeLessThanOrEqual(params + 4 * model.trainableWeights.length);
    expect(optimizer.stateBytes()).toBeGreaterThanOrEqual(params);
    model.dispose();
    optimizer.dispose();
    tf.dispose([xs, ys]);
  });
});
