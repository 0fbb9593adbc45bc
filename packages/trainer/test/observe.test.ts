// The trainer's gradient observer and the sign-confidence recorder: a run without an observer does nothing extra, a
// run with the recorder trains bit-identically, and the recorder's moments and shadow counters are those of the real
// Adam and GradSign optimizers on the sampled parameters.
import { subset } from '@gradsign/datasets';
import type { StatefulOptimizer } from '@gradsign/optim-core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  ALL_LAYERS,
  type GradientObserver,
  pearson,
  SignConfidenceRecorder,
  sampleIndices,
  type TrainConfig,
  Trainer,
  weightedAgreement,
} from '../src/index.js';
import { smallMnist } from './data.js';
import { useBackend } from './helpers.js';

const ADAM: Partial<TrainConfig> = {
  model: 'blog-cnn',
  optimizer: 'adam',
  learningRate: 0.003,
  optimizerConfig: { beta1: 0.9, beta2: 0.999 },
  batchSize: 8,
  steps: 4,
  seed: 3,
};

async function data() {
  const mnist = await smallMnist();
  return { train: subset(mnist.train, 64) };
}

beforeAll(() => useBackend('cpu'));

/** Counts the tensor reads (`data()` and `dataSync()`: downloads from the backend) while `fn` runs. */
async function countReads(fn: () => Promise<unknown>): Promise<number> {
  const proto = tf.Tensor.prototype as unknown as Record<'data' | 'dataSync', (...a: unknown[]) => unknown>;
  const original = { data: proto.data, dataSync: proto.dataSync };
  let reads = 0;
  proto.data = function (this: unknown, ...a) {
    reads++;
    return original.data.apply(this, a);
  };
  proto.dataSync = function (this: unknown, ...a) {
    reads++;
    return original.dataSync.apply(this, a);
  };
  try {
    await fn();
  } finally {
    proto.data = original.data;
    proto.dataSync = original.dataSync;
  }
  return reads;
}

describe('the gradient observer', () => {
  test('a step without an observer reads and runs exactly what it does with a no-op observer, and keeps no tensors', async () => {
    const d = await data();
    const plain = Trainer.create({ config: ADAM, data: d });
    let calls = 0;
    const noop = Trainer.create({ config: ADAM, data: d, observe: { onGradients: () => void calls++ } });
    const recorded = Trainer.create({
      config: ADAM,
      data: d,
      observe: new SignConfidenceRecorder({ beta1: 0.9, beta2: 0.999, sampleSize: 256 }),
    });
    try {
      for (const t of [plain, noop, recorded]) await t.trainStep(); // optimizer state exists from here on
      const before = tf.memory().numTensors;
      const plainReads = await countReads(() => plain.trainStep());
      expect(plainReads).toBe(1); // the loss
      expect(tf.memory().numTensors).toBe(before);
      expect(await countReads(() => noop.trainStep())).toBe(plainReads);
      const kernels = async (t: Trainer) =>
        (await tf.profile(() => t.trainStep() as unknown as tf.TensorContainer)).kernelNames;
      expect(await kernels(plain)).toEqual(await kernels(noop));
      expect(calls).toBe(3);
      // The recorder pays one read per step and keeps no tensors.
      const held = tf.memory().numTensors;
      expect(await countReads(() => recorded.trainStep())).toBe(plainReads + 1);
      expect(tf.memory().numTensors).toBe(held);
    } finally {
      for (const t of [plain, noop, recorded]) t.dispose();
    }
  });

  test('a run with the recorder trains bit-identically to one without', async () => {
    const d = await data();
    const run = async (observe?: GradientObserver) => {
      const trainer = Trainer.create({ config: ADAM, data: d, ...(observe ? { observe } : {}) });
      try {
        const losses: number[] = [];
        for await (const r of trainer.run()) losses.push(r.loss);
        const ckpt = await trainer.checkpoint();
        return { losses, tensors: [...ckpt.model, ...ckpt.optimizer].map((t) => [t.name, [...t.values]]) };
      } finally {
        trainer.dispose();
      }
    };
    const recorder = new SignConfidenceRecorder({ beta1: 0.9, beta2: 0.999, sampleSize: 512 });
    const without = await run();
    const withRecorder = await run(recorder);
    expect(withRecorder).toEqual(without);
    expect(recorder.report().steps).toBe(ADAM.steps);
  });
});

describe('SignConfidenceRecorder', () => {
  test("its moments are the Adam optimizer's own and its counters a zero-initialised GradSign's", async () => {
    const d = await data();
    const check = async (
      config: Partial<TrainConfig>,
      compare: (t: Trainer, r: SignConfidenceRecorder) => void,
    ) => {
      const recorder = new SignConfidenceRecorder({
        beta1: 0.9,
        beta2: 0.999,
        sampleSize: 400,
        counterInit: 'zero',
      });
      const trainer = Trainer.create({ config, data: d, observe: recorder });
      try {
        for await (const _ of trainer.run());
        compare(trainer, recorder);
      } finally {
        trainer.dispose();
      }
    };
    const stateAt = (t: Trainer, slot: string) => {
      const byName = new Map(t.model.tensors().map((x) => [x.name, x.variable]));
      const optimizer = t.optimizer as unknown as StatefulOptimizer;
      return (tensor: string) => optimizer.readState(byName.get(tensor)!, slot).dataSync();
    };
    await check(ADAM, (trainer, recorder) => {
      const [m, v] = [stateAt(trainer, 'm'), stateAt(trainer, 'v')];
      const sampled = recorder.sampled();
      expect(sampled.length).toBe(400);
      for (const s of sampled) {
        expect(s.m).toBeCloseTo(m(s.tensor)[s.index]!, 6);
        expect(Math.abs(s.v - v(s.tensor)[s.index]!)).toBeLessThanOrEqual(1e-6 * s.v + 1e-12);
      }
    });
    await check(
      { ...ADAM, optimizer: 'gradsign', optimizerConfig: { init: 'zero' } },
      (trainer, recorder) => {
        const counts = stateAt(trainer, 'counts');
        const sampled = recorder.sampled();
        expect(sampled.some((s) => s.counter !== 0)).toBe(true);
        for (const s of sampled) expect(s.counter).toBe(counts(s.tensor)[s.index]);
      },
    );
  });

  test('reports every layer, over the run and per window, with measures in range', async () => {
    const recorder = new SignConfidenceRecorder({ beta1: 0.99, beta2: 0.99, sampleSize: 300, window: 3 });
    const trainer = Trainer.create({ config: { ...ADAM, steps: 7 }, data: await data(), observe: recorder });
    try {
      for await (const _ of trainer.run());
    } finally {
      trainer.dispose();
    }
    const report = recorder.report();
    const layers = report.layers.map((l) => l.layer);
    expect(layers).toEqual([
      ...Array.from({ length: 8 }, (_, i) => [`conv${i + 1}`, `bn${i + 1}`]).flat(),
      'lin1',
      'lin2',
      ALL_LAYERS,
    ]);
    expect(report.layers.at(-1)!.samples).toBe(300);
    expect(report.overall.map((r) => r.layer)).toEqual(layers);
    expect(new Set(report.windows.map((w) => `${w.from}-${w.to}`))).toEqual(new Set(['1-3', '4-6', '7-7']));
    for (const row of [...report.overall, ...report.windows]) {
      expect(row.correlation).toBeGreaterThanOrEqual(-1);
      expect(row.correlation).toBeLessThanOrEqual(1);
      expect(row.weightedAgreement).toBeGreaterThanOrEqual(0);
      expect(row.weightedAgreement).toBeLessThanOrEqual(1);
    }
  });

  test('refuses bad options, naming them', () => {
    expect(() => new SignConfidenceRecorder({ beta1: 1, beta2: 0.9 })).toThrow(
      /beta1 must be in \[0, 1\), got 1/,
    );
    expect(() => new SignConfidenceRecorder({ beta1: 0.9, beta2: 0.9, sampleSize: 0 })).toThrow(/sampleSize/);
    expect(() => new SignConfidenceRecorder({ beta1: 0.9, beta2: 0.9, window: 1.5 })).toThrow(/window/);
  });
});

describe('measures and sampling', () => {
  const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  test('pearson and weighted agreement on known values', () => {
    expect(pearson(Float64Array.of(1, 2, 3), Int32Array.of(-64, 0, 64), all(3))).toBeCloseTo(1, 12);
    expect(pearson(Float64Array.of(1, 2, 3), Int32Array.of(8, 0, -8), all(3))).toBeCloseTo(-1, 12);
    expect(pearson(Float64Array.of(1, 1, 1), Int32Array.of(8, 0, -8), all(3))).toBeNaN();
    expect(pearson(Float64Array.of(1, 0, -1, 0), Int32Array.of(1, 1, -1, -1), all(4))).toBeCloseTo(
      Math.SQRT1_2,
      12,
    );
    expect(weightedAgreement(Float64Array.of(1, -3), Int32Array.of(5, 5), all(2))).toBeCloseTo(0.25, 12);
    expect(weightedAgreement(Float64Array.of(2, -2, 4), Int32Array.of(0, -1, 7), all(3))).toBeCloseTo(
      0.75,
      12,
    );
  });

  test('the sample shares the total over tensors, is distinct, in range and seeded', () => {
    const tensors = [
      { name: 'a', size: 10 },
      { name: 'b', size: 1000 },
      { name: 'c', size: 3 },
      { name: 'd', size: 500 },
    ];
    const s = sampleIndices(tensors, 200, 5);
    expect(s.map((x) => x.indices.length)).toEqual([10, 94, 3, 93]);
    s.forEach((x, i) => {
      expect(new Set(x.indices).size).toBe(x.indices.length);
      expect(Math.max(...x.indices)).toBeLessThan(tensors[i]!.size);
    });
    expect(sampleIndices(tensors, 200, 5)).toEqual(s);
    expect(sampleIndices(tensors, 200, 6)[1]!.indices).not.toEqual(s[1]!.indices);
    expect(sampleIndices(tensors, 10_000, 5).map((x) => x.indices.length)).toEqual([10, 1000, 3, 500]);
  });
});
