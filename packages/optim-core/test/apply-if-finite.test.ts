import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allFinite, applyIfFinite, NonFiniteError } from '../src/apply-if-finite.js';
import { Adam } from '../src/optimizers/adam.js';
import { SGD } from '../src/optimizers/sgd.js';

beforeAll(() => tf.setBackend('cpu'));

const created: { dispose(): void }[] = [];
afterEach(() => {
  for (const c of created.splice(0)) c.dispose();
});

function variable(values: number[]): tf.Variable {
  const v = tf.variable(tf.tensor1d(values));
  created.push(v);
  return v;
}

describe('allFinite', () => {
  it('is false when any tensor holds a NaN or an infinity, wherever it is', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (let at = 0; at < 3; at++) {
        const values = [1, -2, 3];
        values[at] = bad;
        const tensors = [tf.tensor1d([0.5, 0.25]), tf.tensor1d(values)];
        expect(allFinite(tensors)).toBe(false);
        tf.dispose(tensors);
      }
    }
  });

  it('is true for finite values, however large (no overflow of a sum)', () => {
    const tensors = [tf.tensor1d([3e38, 3e38, -3e38]), tf.tensor2d([[1, 2]]), tf.scalar(0)];
    expect(allFinite(tensors)).toBe(true);
    expect(allFinite([])).toBe(true);
    tf.dispose(tensors);
  });

  it('leaves no tensor behind', () => {
    const g = tf.tensor1d([1, Number.NaN]);
    const before = tf.memory().numTensors;
    allFinite([g, g]);
    expect(tf.memory().numTensors).toBe(before);
    g.dispose();
  });
});

describe('applyIfFinite', () => {
  it('applies finite gradients and skips non-finite ones without touching variables or state', () => {
    const x = variable([1, 2]);
    const adam = new Adam({ learningRate: 0.1 });
    created.push(adam);
    const guarded = applyIfFinite(adam, { maxConsecutive: 3 });
    expect(guarded.applyGradients({ [x.name]: tf.tensor1d([1, -1]) })).toBe(true);
    const after1 = Array.from(x.dataSync());
    const m1 = Array.from(adam.readState(x, 'm').dataSync());
    expect(after1).not.toEqual([1, 2]);

    expect(guarded.applyGradients({ [x.name]: tf.tensor1d([Number.NaN, 1]) })).toBe(false);
    expect(
      guarded.applyGradients([{ name: x.name, tensor: tf.tensor1d([1, Number.POSITIVE_INFINITY]) }]),
    ).toBe(false);
    expect(Array.from(x.dataSync())).toEqual(after1);
    expect(Array.from(adam.readState(x, 'm').dataSync())).toEqual(m1);
    expect(adam.iterations).toBe(1);
    expect(guarded.skippedSteps).toBe(2);
    expect(guarded.consecutiveSkips).toBe(2);

    expect(guarded.applyGradients({ [x.name]: tf.tensor1d([1, 1]) })).toBe(true);
    expect(guarded.consecutiveSkips).toBe(0);
    expect(guarded.skippedSteps).toBe(2);
    expect(adam.iterations).toBe(2);
  });

  it('throws NonFiniteError at maxConsecutive skips in a row, counting skips for other reasons too', () => {
    const x = variable([1]);
    const sgd = new SGD({ learningRate: 0.1 });
    created.push(sgd);
    const guarded = applyIfFinite(sgd, { maxConsecutive: 3 });
    guarded.skip('the loss is NaN');
    expect(guarded.applyGradients({ [x.name]: tf.tensor1d([Number.NaN]) })).toBe(false);
    let thrown: unknown;
    try {
      guarded.applyGradients({ [x.name]: tf.tensor1d([Number.NEGATIVE_INFINITY]) });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(NonFiniteError);
    expect(thrown).toMatchObject({ code: 'non-finite', skippedSteps: 3, consecutiveSkips: 3 });
    expect((thrown as Error).message).toMatch(/3 updates in a row skipped \(the limit is 3\)/);
    expect(Array.from(x.dataSync())).toEqual([1]);
  });

  it('restores counts and refuses bad options and counts', () => {
    const sgd = new SGD({ learningRate: 0.1 });
    created.push(sgd);
    const guarded = applyIfFinite(sgd, { maxConsecutive: 2 });
    guarded.restore({ skippedSteps: 7, consecutiveSkips: 1 });
    expect(() => guarded.skip()).toThrow(NonFiniteError);
    expect(guarded.skippedSteps).toBe(8);
    expect(() => guarded.restore({ skippedSteps: 1, consecutiveSkips: 2 })).toThrow(RangeError);
    expect(() => guarded.restore({ skippedSteps: -1, consecutiveSkips: 0 })).toThrow(RangeError);
    for (const maxConsecutive of [0, 1.5, Number.NaN]) {
      expect(() => applyIfFinite(sgd, { maxConsecutive })).toThrow(
        /maxConsecutive must be a positive integer/,
      );
    }
    expect(applyIfFinite(sgd).maxConsecutive).toBe(10);
  });
});
