import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as browser from '../src/browser.js';
import {
  type DataCursor,
  Dataset,
  DatasetError,
  evalBatches,
  evalRanges,
  type ImageSplit,
  loadMnist,
  type Mnist,
  makeBatch,
  normalizePixel,
  subset,
} from '../src/index.js';

let mnist: Mnist;
beforeAll(async () => {
  await tf.setBackend('cpu');
  mnist = await loadMnist();
});

/** A tiny split whose single pixel equals the item index, so batches are easy to read. */
function tinySplit(count: number, rows = 1, cols = 1): ImageSplit {
  const pixels = rows * cols;
  return {
    name: 'tiny',
    count,
    rows,
    cols,
    images: Uint8Array.from({ length: count * pixels }, (_, i) => Math.floor(i / pixels) & 0xff),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
  };
}

function take(ds: Dataset, batches: number): number[][] {
  return Array.from({ length: batches }, () => Array.from(ds.nextBatchIndices()));
}

describe('seeded order (literal values: a change of PRNG or shuffle must fail here)', () => {
  it('first training batch of MNIST, seed 42, batch 32', () => {
    const ds = new Dataset(mnist.train, { batchSize: 32, seed: 42 });
    expect(Array.from(ds.nextBatchIndices())).toEqual([
      12582, 29085, 32398, 34949, 5264, 10209, 27040, 24552, 14168, 29227, 14929, 1573, 36318, 58691, 44384,
      30044, 27944, 42454, 42890, 9913, 16360, 25610, 6183, 2513, 429, 35118, 40457, 14057, 18538, 17275,
      15836, 3627,
    ]);
  });

  it('first batches for seed 0 (train) and seed 2024 (test)', () => {
    expect(take(new Dataset(mnist.train, { batchSize: 8, seed: 0 }), 1)).toEqual([
      [4711, 1717, 32835, 15376, 46137, 46304, 8159, 14947],
    ]);
    expect(take(new Dataset(mnist.test, { batchSize: 10, seed: 2024 }), 1)).toEqual([
      [432, 3395, 1353, 6086, 3490, 4272, 5377, 493, 9647, 487],
    ]);
  });

  it('two epochs of 10 items, batch 4, seed 7, including the reshuffle and the partial batch', () => {
    const ds = new Dataset(tinySplit(10), { batchSize: 4, seed: 7 });
    expect(take(ds, 6)).toEqual([
      [6, 5, 8, 1],
      [2, 3, 4, 7],
      [9, 0],
      [8, 6, 4, 9],
      [0, 3, 5, 1],
      [2, 7],
    ]);
    expect(ds.cursor()).toEqual({
      version: 1,
      size: 10,
      seed: 7,
      shuffle: true,
      epoch: 1,
      position: 10,
      epochState: 3599190436,
    });
  });

  it('the browser entry gives the same order as the Node entry', () => {
    const fromNode = new Dataset(mnist.train, { batchSize: 32, seed: 5 });
    const fromBrowser = new browser.Dataset(mnist.train, { batchSize: 32, seed: 5 });
    expect(take(fromBrowser, 3)).toEqual(take(fromNode, 3));
  });

  it('different seeds give different orders', () => {
    const a = take(new Dataset(mnist.train, { batchSize: 32, seed: 1 }), 1);
    const b = take(new Dataset(mnist.train, { batchSize: 32, seed: 2 }), 1);
    expect(a).not.toEqual(b);
  });
});

describe('epochs', () => {
  it('every epoch is a permutation, and epochs differ', () => {
    const ds = new Dataset(tinySplit(50), { batchSize: 7, seed: 3 });
    const epochs: number[][] = [];
    for (let e = 0; e < 3; e++) {
      expect(ds.batchesPerEpoch).toBe(8);
      epochs.push(take(ds, 8).flat());
      expect(ds.epoch).toBe(e);
      expect([...epochs[e]!].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    }
    expect(epochs[0]).not.toEqual(epochs[1]);
    expect(epochs[1]).not.toEqual(epochs[2]);
  });

  it("lastBatch 'drop' keeps every batch full", () => {
    const ds = new Dataset(tinySplit(10), { batchSize: 4, seed: 7, lastBatch: 'drop' });
    expect(ds.batchesPerEpoch).toBe(2);
    const batches = take(ds, 6);
    expect(batches.map((b) => b.length)).toEqual([4, 4, 4, 4, 4, 4]);
    expect(batches.slice(0, 2)).toEqual([
      [6, 5, 8, 1],
      [2, 3, 4, 7],
    ]);
    expect(() => new Dataset(tinySplit(3), { batchSize: 4, lastBatch: 'drop' })).toThrow(RangeError);
  });

  it('shuffle: false walks the file order', () => {
    const ds = new Dataset(tinySplit(5), { batchSize: 2, shuffle: false });
    expect(take(ds, 4)).toEqual([[0, 1], [2, 3], [4], [0, 1]]);
  });

  it('rejects bad options and inconsistent splits', () => {
    expect(() => new Dataset(tinySplit(5), { batchSize: 0 })).toThrow(RangeError);
    expect(() => new Dataset(tinySplit(5), { batchSize: 2, seed: 1.5 })).toThrow(RangeError);
    expect(() => new Dataset(tinySplit(0), { batchSize: 2 })).toThrow(DatasetError);
    const broken = { ...tinySplit(5), labels: new Uint8Array(4) };
    expect(() => new Dataset(broken, { batchSize: 2 })).toThrow(/holds 5 pixels and 4 labels/);
  });
});

describe('cursor', () => {
  it('restoring gives exactly the same subsequent batches, across epochs, through JSON', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer(),
        fc.integer({ min: 0, max: 30 }),
        fc.boolean(),
        fc.constantFrom('partial' as const, 'drop' as const),
        (size, batchSize, seed, skip, shuffle, lastBatch) => {
          fc.pre(lastBatch === 'partial' || size >= batchSize);
          const options = { batchSize, seed, shuffle, lastBatch };
          const original = new Dataset(tinySplit(size), options);
          take(original, skip);
          const saved = JSON.parse(JSON.stringify(original.cursor())) as DataCursor;
          const restored = new Dataset(tinySplit(size), { ...options, seed: 999, cursor: saved });
          expect(restored.seed).toBe(seed);
          expect(restored.epoch).toBe(original.epoch);
          expect(take(restored, 15)).toEqual(take(original, 15));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('restore() on a running dataset jumps to the saved position', () => {
    const ds = new Dataset(mnist.train, { batchSize: 32, seed: 11 });
    take(ds, 3);
    const cursor = ds.cursor();
    const next = take(ds, 2);
    take(ds, 5);
    ds.restore(cursor);
    expect(take(ds, 2)).toEqual(next);
  });

  it('rejects a cursor from another dataset or a damaged one', () => {
    const ds = new Dataset(tinySplit(10), { batchSize: 4 });
    const good = ds.cursor();
    const cases: Array<[Partial<DataCursor> | Record<string, unknown>, string]> = [
      [{ size: 11 }, 'taken on 11 items'],
      [{ version: 2 as 1 }, 'unknown version 2'],
      [{ shuffle: false }, 'shuffle is false'],
      [{ position: 11 }, 'position 11'],
      [{ epochState: -1 }, 'epochState -1'],
      [{ epoch: 0.5 }, 'epoch 0.5'],
    ];
    for (const [change, message] of cases) {
      const error = (() => {
        try {
          ds.restore({ ...good, ...change } as DataCursor);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(DatasetError);
      expect((error as DatasetError).code).toBe('BAD_CURSOR');
      expect((error as DatasetError).message).toContain(message);
    }
  });
});

describe('tensors', () => {
  it('nextBatch yields normalised float32 [B,28,28,1] and int32 labels [B] from the raw bytes', () => {
    const before = tf.memory().numTensors;
    const ds = new Dataset(mnist.train, { batchSize: 32, seed: 42 });
    const { xs, ys, indices } = ds.nextBatch();
    expect(xs.shape).toEqual([32, 28, 28, 1]);
    expect(xs.dtype).toBe('float32');
    expect(ys.shape).toEqual([32]);
    expect(ys.dtype).toBe('int32');
    expect(indices[0]).toBe(12582);
    const x = xs.dataSync();
    const y = ys.dataSync();
    for (let k = 0; k < 32; k++) {
      expect(y[k]).toBe(mnist.train.labels[indices[k]!]);
      for (let p = 0; p < 784; p += 13) {
        const raw = mnist.train.images[indices[k]! * 784 + p]!;
        expect(x[k * 784 + p]).toBe(Math.fround(raw / 128 - 0.5));
      }
    }
    expect(Math.min(...x)).toBe(-0.5);
    expect(Math.max(...x)).toBeCloseTo(255 / 128 - 0.5, 6);
    tf.dispose([xs, ys]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('normalizePixel is x / 128 − 0.5', () => {
    expect([0, 64, 128, 255].map(normalizePixel)).toEqual([-0.5, 0, 0.5, 1.4921875]);
  });

  it('makeBatch checks its indices', () => {
    expect(() => makeBatch(tinySplit(3), [0, 3])).toThrow(RangeError);
  });
});

describe('subsets and evaluation', () => {
  it('subset is a zero-copy view of the first items', () => {
    const small = subset(mnist.train, 100);
    expect(small.count).toBe(100);
    expect(small.images.buffer).toBe(mnist.train.images.buffer);
    expect(Array.from(small.labels)).toEqual(Array.from(mnist.train.labels.subarray(0, 100)));
    const middle = subset(mnist.test, 5, 20);
    expect(Array.from(middle.images.subarray(0, 784))).toEqual(
      Array.from(mnist.test.images.subarray(20 * 784, 21 * 784)),
    );
    expect(() => subset(mnist.test, 10, 9995)).toThrow(RangeError);
  });

  it('Dataset.subset keeps the options and restarts the cursor', () => {
    const ds = new Dataset(mnist.train, { batchSize: 16, seed: 9 });
    take(ds, 2);
    const small = ds.subset(40);
    expect(small.size).toBe(40);
    expect(small.position).toBe(0);
    expect(
      take(small, 3)
        .flat()
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('evalBatches walks the split in order in fixed chunks, the last one smaller', () => {
    const split = subset(mnist.test, 100);
    expect([...evalRanges(100, 32)]).toEqual([
      { start: 0, end: 32 },
      { start: 32, end: 64 },
      { start: 64, end: 96 },
      { start: 96, end: 100 },
    ]);
    const seen: number[] = [];
    for (const batch of evalBatches(split, 32)) {
      expect(batch.xs.shape).toEqual([batch.size, 28, 28, 1]);
      const labels = Array.from(batch.ys.dataSync());
      expect(labels).toEqual(Array.from(split.labels.subarray(batch.start, batch.start + batch.size)));
      seen.push(...batch.indices);
      tf.dispose([batch.xs, batch.ys]);
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const ds = new Dataset(split, { batchSize: 50, seed: 1 });
    const starts: number[] = [];
    for (const b of ds.evalBatches()) {
      starts.push(b.start);
      tf.dispose([b.xs, b.ys]);
    }
    expect(starts).toEqual([0, 50]);
    expect(ds.position).toBe(0);
  });
});
