import { Adam, AdamW, getOptimizerEntry } from '@gradsign/optim-core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  defaultLearningRate,
  PUBLISHED_LEARNING_RATES,
  REFERENCE_CONFIG,
  resolveConfig,
  type StepRecord,
  Trainer,
  TrainerError,
  train,
} from '../src/index.js';
import { smallMnist } from './data.js';
import { useBackend } from './helpers.js';

beforeAll(() => useBackend('cpu'));

describe('train', () => {
  test('150 steps of the MLP clearly beat chance on held-out images', async () => {
    const data = await smallMnist();
    const records: StepRecord[] = [];
    const result = await train({
      config: {
        model: 'mlp',
        optimizer: 'gradsign',
        learningRate: 0.003,
        steps: 150,
        batchSize: 32,
        seed: 0,
      },
      data,
      onStep: (r) => {
        records.push(r);
      },
    });
    expect(records.map((r) => r.step)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(records.every((r) => r.steps === 150 && r.learningRate === 0.003 && r.msPerStep > 0)).toBe(true);
    expect(result.steps).toBe(150);
    expect(result.testCount).toBe(1000);
    // Chance is 10 % accuracy and a loss of ln 10 ≈ 2.30.
    expect(result.testAccuracy).toBeGreaterThan(0.75);
    expect(result.testLoss).toBeLessThan(1);
    const first = records.slice(0, 10).reduce((a, r) => a + r.loss, 0) / 10;
    expect(result.finalTrainLoss).toBeLessThan(first / 2);
    expect(result.params).toBe(101_770);
    expect(result.backend).toBe('cpu');
    // GradSign keeps one int8 counter per parameter, packed four to an int32.
    expect(result.stateBytes).toBeLessThanOrEqual(result.params + 3 * 4);
    expect(result.stateBytes).toBeGreaterThanOrEqual(result.params);
  });

  test('runs are deterministic: same seed, same losses and weights; another seed differs', async () => {
    const data = await smallMnist();
    const run = async (seed: number, optimizer = 'adam') => {
      const trainer = Trainer.create({
        config: { model: 'mlp', optimizer, steps: 8, batchSize: 16, seed },
        data,
      });
      const losses: number[] = [];
      for await (const r of trainer.run()) losses.push(r.loss);
      const weights = Array.from(trainer.model.trainableVariables()[0]!.dataSync());
      trainer.dispose();
      return { losses, weights };
    };
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(b.losses).toEqual(a.losses);
    expect(b.weights).toEqual(a.weights);
    expect(c.losses).not.toEqual(a.losses);
  });

  test('run() can stop early at a step count or on abort, and continue later', async () => {
    const data = await smallMnist();
    const trainer = Trainer.create({
      config: { model: 'mlp', optimizer: 'sgd', steps: 10, batchSize: 8 },
      data,
    });
    try {
      for await (const _ of trainer.run({ until: 4 })) {
        // drain
      }
      expect(trainer.step).toBe(4);
      const controller = new AbortController();
      for await (const r of trainer.run({ signal: controller.signal })) if (r.step === 6) controller.abort();
      expect(trainer.step).toBe(6);
      for await (const _ of trainer.run()) {
        // drain
      }
      expect(trainer.step).toBe(10);
      expect(trainer.done).toBe(true);
    } finally {
      trainer.dispose();
    }
  });

  test('timers and signals run between steps (the event loop is not starved)', async () => {
    const data = await smallMnist();
    const trainer = Trainer.create({
      config: { model: 'mlp', optimizer: 'sgd', steps: 1_000_000, batchSize: 8 },
      data,
    });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      for await (const _ of trainer.run({ signal: controller.signal })) {
        // a timer must fire even though every step's promises resolve immediately on cpu
      }
      expect(trainer.step).toBeGreaterThan(0);
      expect(trainer.step).toBeLessThan(1_000_000);
    } finally {
      trainer.dispose();
    }
  });

  test('evaluate() works at any step and covers the whole test split in order', async () => {
    const data = await smallMnist();
    const trainer = Trainer.create({
      config: { model: 'mlp', optimizer: 'sgd', steps: 2, batchSize: 8 },
      data,
    });
    try {
      const evaluation = await trainer.evaluate({ batchSize: 300 });
      expect(evaluation.count).toBe(1000);
      expect(evaluation.accuracy).toBe(evaluation.correct / 1000);
      // Untrained: near chance. The batch size changes nothing but speed.
      expect(evaluation.accuracy).toBeLessThan(0.3);
      const again = await trainer.evaluate({ batchSize: 1000 });
      expect(again.correct).toBe(evaluation.correct);
      expect(again.loss).toBeCloseTo(evaluation.loss, 5);
    } finally {
      trainer.dispose();
    }
  });

  test('does not leak tensors across steps', async () => {
    const data = await smallMnist();
    const trainer = Trainer.create({
      config: { model: 'mlp', optimizer: 'adam', steps: 6, batchSize: 8 },
      data,
    });
    await trainer.trainStep();
    const before = tf.memory().numTensors;
    for await (const _ of trainer.run()) {
      // drain
    }
    await trainer.evaluate({ batchSize: 500 });
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
  });
});

describe('config', () => {
  test('defaults are the reference protocol; learning rates default to the published ones', () => {
    expect(resolveConfig()).toEqual({
      model: 'blog-cnn',
      optimizer: 'gradsign',
      learningRate: 0.003,
      steps: 1000,
      batchSize: 32,
      seed: 0,
    });
    expect(resolveConfig({ optimizer: 'sgd' }).learningRate).toBe(0.03);
    expect(resolveConfig({ optimizer: 'adamw' }).learningRate).toBe(0.001);
  });

  test("the protocol's published learning rate wins over the optimizer's library default", () => {
    expect(REFERENCE_CONFIG.learningRate).toBe(PUBLISHED_LEARNING_RATES.gradsign);
    // Adam's library default is 0.001 (its class's); the reference experiment publishes 0.003 and a run takes that.
    expect(getOptimizerEntry('adam')!.defaults.learningRate).toBe(Adam.defaults.learningRate);
    expect(Adam.defaults.learningRate).not.toBe(PUBLISHED_LEARNING_RATES.adam);
    expect(defaultLearningRate('Adam')).toBe(PUBLISHED_LEARNING_RATES.adam);
    expect(resolveConfig({ optimizer: 'adam' }).learningRate).toBe(PUBLISHED_LEARNING_RATES.adam);
    // Without a published rate, the library default.
    expect(PUBLISHED_LEARNING_RATES.adamw).toBeUndefined();
    expect(defaultLearningRate('adamw')).toBe(AdamW.defaults.learningRate);
    expect(defaultLearningRate('nosuchopt')).toBeUndefined();
  });

  test("a seeded optimizer (its registry entry says so) draws from the run's seed unless given its own", async () => {
    const data = await smallMnist();
    const create = (optimizer: string, optimizerConfig?: Record<string, unknown>) =>
      Trainer.create({
        config: {
          model: 'mlp',
          optimizer,
          steps: 1,
          seed: 5,
          ...(optimizerConfig ? { optimizerConfig } : {}),
        },
        data,
      });
    expect(getOptimizerEntry('gradsign')!.seeded).toBe(true);
    const seeded = create('gradsign');
    expect(seeded.optimizer.getConfig().seed).toBe(5);
    seeded.dispose();
    const own = create('gradsign', { seed: 9 });
    expect(own.optimizer.getConfig().seed).toBe(9);
    own.dispose();
    // SGD takes no seed (it would reject one): it is created without.
    expect(getOptimizerEntry('sgd')!.seeded).toBe(false);
    const plain = create('sgd');
    expect(plain.optimizer.getConfig()).not.toHaveProperty('seed');
    plain.dispose();
  });

  test('bad values fail with a message that names the field', () => {
    const bad = (c: object) => () => resolveConfig(c);
    expect(bad({ optimizer: 'nosuchopt' })).toThrow(
      /unknown optimizer 'nosuchopt'; registered: gradsign, adam, adamw, sgd/,
    );
    expect(bad({ model: 'vgg' })).toThrow(TrainerError);
    expect(bad({ learningRate: -1 })).toThrow(/learningRate must be a positive/);
    expect(bad({ batchSize: 0 })).toThrow(/batchSize/);
    expect(bad({ steps: 1.5 })).toThrow(/steps/);
    expect(bad({ seed: Number.NaN })).toThrow(/seed/);
  });

  test('optimizer options pass through; unknown ones are rejected by the optimizer', async () => {
    const data = await smallMnist();
    const config = { model: 'mlp', optimizer: 'sgd', optimizerConfig: { momentum: 0.9 }, steps: 1 };
    const trainer = Trainer.create({ config, data });
    await trainer.trainStep();
    expect(trainer.stateBytes()).toBe(101_770 * 4);
    trainer.dispose();
    expect(() => Trainer.create({ config: { ...config, optimizerConfig: { momentun: 0.9 } }, data })).toThrow(
      /unknown option 'momentun'/,
    );
  });
});
