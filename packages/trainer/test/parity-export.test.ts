// The PyTorch parity export (bench/pytorch-parity.mjs) must hand PyTorch exactly what Trainer consumes: the batch
// indices, the dropout masks in the model's draw order and GradSign's initial counters.
import { type DataCursor, type ImageSplit, Mulberry32, makeBatch } from '@gradsign/datasets';
import type { StatefulOptimizer } from '@gradsign/optim-core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { crossEntropy, dropoutMask, type TrainConfig, Trainer } from '../src/index.js';
import { smallMnist } from './data.js';
import { useBackend } from './helpers.js';

interface ParityExport {
  DROPOUT_SIZES: number[];
  batchIndices(
    train: ImageSplit,
    batchSize: number,
    cursor: DataCursor,
    steps: number,
  ): { indices: Int32Array; cursor: DataCursor };
  dropoutBits(state: number, batchSize: number, steps: number): { bits: Uint8Array; state: number };
  unpackBits(bits: Uint8Array, count: number): Uint8Array;
}

const script = new URL('../bench/pytorch-parity.mjs', import.meta.url).href;
const parity = (await import(script)) as ParityExport;

beforeAll(() => useBackend('cpu'));

describe('pytorch parity export', () => {
  const config: Partial<TrainConfig> = {
    model: 'blog-cnn',
    optimizer: 'sgd',
    steps: 2,
    batchSize: 2,
    seed: 3,
  };

  test('batch indices and dropout masks are the ones Trainer trains on', async () => {
    const data = await smallMnist();
    const trainer = Trainer.create({ config, data });
    const start = await trainer.checkpoint();
    const { indices, cursor } = parity.batchIndices(data.train, 2, start.dataCursor, 2);
    const masks = parity.dropoutBits(start.rng.dropout, 2, 2);
    // Step 1's loss, recomputed from the exported indices and a dropout stream at the exported state.
    const batch = makeBatch(data.train, indices.slice(0, 2));
    const dropout = new Mulberry32(start.rng.dropout);
    const loss = tf.tidy(() =>
      crossEntropy(trainer.model.forward(batch.xs, { training: true, dropout }), batch.ys).dataSync(),
    )[0];
    trainer.model.discardStatistics();
    tf.dispose([batch.xs, batch.ys]);
    const first = await trainer.trainStep();
    expect(loss).toBe(first.loss);
    await trainer.trainStep();
    const end = await trainer.checkpoint();
    expect(cursor).toEqual(end.dataCursor);
    expect(masks.state).toBe(end.rng.dropout);
    trainer.dispose();
  });

  test('bit-packed masks unpack to dropoutMask, after pool 1 then after pool 2, step by step', () => {
    const { bits } = parity.dropoutBits(12345, 3, 2);
    const rng = new Mulberry32(12345);
    const expected: number[] = [];
    for (let s = 0; s < 2; s++)
      for (const n of parity.DROPOUT_SIZES)
        for (const v of dropoutMask(rng, 3 * n, 0.1)) expected.push(v ? 1 : 0);
    expect(Array.from(parity.unpackBits(bits, expected.length))).toEqual(expected);
  });

  test('allocating GradSign counters before the first step gives the counters of lazy allocation', async () => {
    const data = await smallMnist();
    const gradsign = { ...config, model: 'mlp', optimizer: 'gradsign', batchSize: 8, steps: 1 };
    const eager = Trainer.create({ config: gradsign, data });
    const lazy = Trainer.create({ config: gradsign, data });
    (eager.optimizer as unknown as StatefulOptimizer).allocateState(eager.model.trainableVariables());
    await eager.trainStep();
    await lazy.trainStep();
    const [a, b] = [await eager.checkpoint(), await lazy.checkpoint()];
    expect(a.optimizer.map((t) => [t.name, Array.from(t.values)])).toEqual(
      b.optimizer.map((t) => [t.name, Array.from(t.values)]),
    );
    eager.dispose();
    lazy.dispose();
  });
});
