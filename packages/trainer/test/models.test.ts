import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { BatchNorm, createModel, crossEntropy, dropoutMask, listModels, ParamStore } from '../src/index.js';
import { Mulberry32 } from '../src/random.js';
import { useBackend } from './helpers.js';

beforeAll(() => useBackend('cpu'));

const values = (v: tf.Tensor) => Array.from(v.dataSync());

describe('blog-cnn', () => {
  test('has exactly 66,954 parameters, with the reference breakdown', () => {
    const model = createModel('blog-cnn', { seed: 0 });
    try {
      expect(model.paramCount()).toBe(66_954);
      const size = (name: string) => model.tensors().find((t) => t.name === name)!.variable.size;
      const group = (prefix: string) =>
        model
          .tensors()
          .filter((t) => t.trainable && t.name.startsWith(`${prefix}.`))
          .reduce((n, t) => n + t.variable.size, 0);
      expect(group('conv1')).toBe(320);
      for (let i = 2; i <= 8; i++) expect(group(`conv${i}`)).toBe(9_248);
      for (let i = 1; i <= 8; i++) expect(group(`bn${i}`)).toBe(64);
      expect(group('lin1')).toBe(1_056);
      expect(group('lin2')).toBe(330);
      // Running statistics are buffers, not parameters.
      expect(size('bn3.running_var')).toBe(32);
      expect(model.tensors().filter((t) => !t.trainable)).toHaveLength(16);
    } finally {
      model.dispose();
    }
  });

  test('PyTorch default initialisation: U(±1/√fan_in) for weights and biases, BN γ=1 β=0, stats 0/1', () => {
    const model = createModel('blog-cnn', { seed: 3 });
    try {
      const get = (name: string) => model.tensors().find((t) => t.name === name)!.variable;
      const check = (name: string, fanIn: number) => {
        const v = values(get(name));
        const bound = 1 / Math.sqrt(fanIn);
        expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound);
        // Uniform over the whole range: the extremes get close to ±bound and the mean is near 0.
        if (v.length < 100) return;
        expect(Math.max(...v)).toBeGreaterThan(bound * 0.9);
        expect(Math.min(...v)).toBeLessThan(-bound * 0.9);
        const rms = Math.sqrt(v.reduce((a, x) => a + x * x, 0) / v.length);
        expect(rms / (bound / Math.sqrt(3))).toBeGreaterThan(0.93);
        expect(rms / (bound / Math.sqrt(3))).toBeLessThan(1.07);
      };
      check('conv1.weight', 9);
      check('conv1.bias', 9);
      check('conv2.weight', 288);
      check('conv8.bias', 288);
      check('lin1.weight', 32);
      check('lin2.bias', 32);
      expect(get('conv1.weight').shape).toEqual([3, 3, 1, 32]);
      expect(get('lin2.weight').shape).toEqual([32, 10]);
      expect(new Set(values(get('bn5.weight')))).toEqual(new Set([1]));
      expect(new Set(values(get('bn5.bias')))).toEqual(new Set([0]));
      expect(new Set(values(get('bn5.running_mean')))).toEqual(new Set([0]));
      expect(new Set(values(get('bn5.running_var')))).toEqual(new Set([1]));
    } finally {
      model.dispose();
    }
  });

  test('initial weights depend on the seed alone', () => {
    const a = createModel('blog-cnn', { seed: 7 });
    const b = createModel('blog-cnn', { seed: 7 });
    const c = createModel('blog-cnn', { seed: 8 });
    try {
      const w = (m: typeof a) => values(m.tensors().find((t) => t.name === 'conv4.weight')!.variable);
      expect(w(a)).toEqual(w(b));
      expect(w(a)).not.toEqual(w(c));
      // Two live instances do not clash in the engine's variable registry.
      expect(a.variablePrefix).not.toBe(b.variablePrefix);
    } finally {
      [a, b, c].forEach((m) => {
        m.dispose();
      });
    }
  });

  test('forward gives [B, 10] logits; eval mode is deterministic, training mode uses dropout', () => {
    const model = createModel('blog-cnn', { seed: 1 });
    try {
      const xs = tf.randomUniform([2, 28, 28, 1], -0.5, 1.5, 'float32', 1) as tf.Tensor4D;
      const e1 = model.forward(xs, { training: false });
      const e2 = model.forward(xs, { training: false });
      expect(e1.shape).toEqual([2, 10]);
      expect(values(e1)).toEqual(values(e2));
      const t1 = model.forward(xs, { training: true, dropout: new Mulberry32(1) });
      const t2 = model.forward(xs, { training: true, dropout: new Mulberry32(1) });
      const t3 = model.forward(xs, { training: true, dropout: new Mulberry32(2) });
      model.discardStatistics();
      expect(values(t1)).toEqual(values(t2));
      expect(values(t1)).not.toEqual(values(t3));
      expect(values(t1)).not.toEqual(values(e1));
      tf.dispose([xs, e1, e2, t1, t2, t3]);
    } finally {
      model.dispose();
    }
  });
});

describe('BatchNorm', () => {
  test('normalises with the biased batch variance and tracks the unbiased one (momentum 0.1)', () => {
    const store = new ParamStore('bn-test', new Mulberry32(0));
    const bn = new BatchNorm(store, 'bn', 2);
    // Channel 0: 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased 5/3). Channel 1: constant 7.
    const x = tf.tensor4d([1, 7, 2, 7, 3, 7, 4, 7], [2, 2, 1, 2]);
    const pending: Parameters<BatchNorm['apply']>[2] = [];
    const y = bn.apply(x, true, pending);
    const out = values(y);
    const expected0 = [1, 2, 3, 4].map((v) => (v - 2.5) / Math.sqrt(1.25 + 1e-5));
    out
      .filter((_, i) => i % 2 === 0)
      .forEach((v, i) => {
        expect(v).toBeCloseTo(expected0[i]!, 5);
      });
    out
      .filter((_, i) => i % 2 === 1)
      .forEach((v) => {
        expect(v).toBe(0);
      });
    expect(pending).toHaveLength(1);
    expect(values(pending[0]!.mean)).toEqual([2.5, 7]);
    expect(values(pending[0]!.variance)[0]).toBeCloseTo(5 / 3, 6);
    // Eval mode uses the running statistics (still 0 and 1 here).
    const e = bn.apply(x, false, []);
    expect(values(e)[0]).toBeCloseTo(1 / Math.sqrt(1 + 1e-5), 6);
    tf.dispose([x, y, e, pending[0]!.mean, pending[0]!.variance]);
    store.dispose();
  });

  test('a training step moves the running statistics: 0.9·old + 0.1·batch', () => {
    const model = createModel('blog-cnn', { seed: 0 });
    try {
      const xs = tf.randomUniform([4, 28, 28, 1], -0.5, 1.5, 'float32', 5) as tf.Tensor4D;
      const logits = model.forward(xs, { training: true, dropout: new Mulberry32(0) });
      // The first block sees the input directly: compute its expected batch statistics by hand.
      const get = (name: string) => model.tensors().find((t) => t.name === name)!.variable;
      const act = tf.leakyRelu(
        tf.add(tf.conv2d(xs, get('conv1.weight') as tf.Tensor4D, 1, 'same'), get('conv1.bias')),
        0.2,
      );
      const mean = tf.mean(act, [0, 1, 2]);
      const n = 4 * 28 * 28;
      const unbiased = tf.mul(tf.mean(tf.square(tf.sub(act, mean)), [0, 1, 2]), n / (n - 1));
      model.commitStatistics();
      const rm = values(get('bn1.running_mean'));
      const rv = values(get('bn1.running_var'));
      values(mean).forEach((m, i) => {
        expect(rm[i]).toBeCloseTo(0.1 * m, 5);
      });
      values(unbiased).forEach((v, i) => {
        expect(rv[i]).toBeCloseTo(0.9 + 0.1 * v, 5);
      });
      tf.dispose([xs, logits, act, mean, unbiased]);
    } finally {
      model.dispose();
    }
  });
});

test('dropout masks: rate 0.1, kept values scaled by 1/0.9, reproducible from the stream state', () => {
  const a = dropoutMask(new Mulberry32(9), 100_000, 0.1);
  const b = dropoutMask(new Mulberry32(9), 100_000, 0.1);
  expect(a).toEqual(b);
  const zeros = a.filter((v) => v === 0).length / a.length;
  expect(zeros).toBeGreaterThan(0.095);
  expect(zeros).toBeLessThan(0.105);
  expect(new Set(a)).toEqual(new Set([0, Math.fround(1 / 0.9)]));
});

test('the MLP and the model list', () => {
  expect(listModels().map((m) => m.name)).toEqual(['blog-cnn', 'mlp']);
  const mlp = createModel('mlp', { seed: 0 });
  expect(mlp.paramCount()).toBe(784 * 128 + 128 + 128 * 10 + 10);
  mlp.dispose();
  expect(() => createModel('resnet')).toThrow(/unknown model 'resnet'; available: blog-cnn, mlp/);
});

test('cross-entropy is the batch mean of −log softmax at the label', () => {
  const logits = tf.tensor2d([
    [2, 0, -1],
    [0.5, 0.5, 3],
  ]);
  const labels = tf.tensor1d([0, 1], 'int32');
  const loss = crossEntropy(logits, labels);
  const lse = (row: number[]) => Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
  const expected = (lse([2, 0, -1]) - 2 + (lse([0.5, 0.5, 3]) - 0.5)) / 2;
  expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
  tf.dispose([logits, labels, loss]);
});
