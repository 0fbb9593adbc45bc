import * as tf from '@tensorflow/tfjs-core';
import { DatasetError } from './errors.js';
import type { ImageSplit } from './mnist.js';
import { subset as subsetSplit } from './mnist.js';
import { Mulberry32, permutation } from './prng.js';

/** Pixel normalisation applied to every batch: `x / 128 − 0.5`, so 0…255 maps to −0.5…1.4921875 (exact in float32). */
export function normalizePixel(value: number): number {
  return value / 128 - 0.5;
}

const PIXEL_TABLE = Float32Array.from({ length: 256 }, (_, v) => normalizePixel(v));

/** A batch of tensors. The caller owns `xs` and `ys` and must dispose them. */
export interface Batch {
  /** float32 `[B, rows, cols, 1]`, normalised with {@link normalizePixel}. */
  readonly xs: tf.Tensor4D;
  /** int32 `[B]` class indices. */
  readonly ys: tf.Tensor1D;
  /** Item indices (into the split) of the batch, in batch order. */
  readonly indices: Int32Array;
}

/** An in-order evaluation chunk: items `start … start + size − 1` of the split. */
export interface EvalBatch extends Batch {
  readonly start: number;
  readonly size: number;
}

function checkSplit(split: ImageSplit): void {
  const pixels = split.rows * split.cols;
  if (split.images.length !== split.count * pixels || split.labels.length !== split.count) {
    throw new DatasetError(
      'BAD_DATA',
      split.name,
      `split declares ${split.count} items of ${split.rows}×${split.cols} but holds ${split.images.length} pixels ` +
        `and ${split.labels.length} labels`,
    );
  }
}

/** Normalised float32 pixels of the given items, `indices.length × rows × cols` values. */
export function batchPixels(split: ImageSplit, indices: ArrayLike<number>): Float32Array {
  const pixels = split.rows * split.cols;
  const out = new Float32Array(indices.length * pixels);
  const { images } = split;
  for (let k = 0; k < indices.length; k++) {
    const index = indices[k]!;
    if (!Number.isInteger(index) || index < 0 || index >= split.count) {
      throw new RangeError(`item index ${index} is outside split '${split.name}' (0…${split.count - 1})`);
    }
    const src = index * pixels;
    const dst = k * pixels;
    for (let p = 0; p < pixels; p++) out[dst + p] = PIXEL_TABLE[images[src + p]!]!;
  }
  return out;
}

/** Builds `{ xs, ys }` tensors for the given items, straight from the raw bytes. */
export function makeBatch(split: ImageSplit, indices: ArrayLike<number>): Batch {
  const xs = batchPixels(split, indices);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) labels[k] = split.labels[indices[k]!]!;
  const ints = Int32Array.from(indices);
  return {
    xs: tf.tensor4d(xs, [indices.length, split.rows, split.cols, 1], 'float32'),
    ys: tf.tensor1d(labels, 'int32'),
    indices: ints,
  };
}

/** `[start, end)` ranges covering `0 … count − 1` in order, `batchSize` at a time; the last may be shorter. */
export function* evalRanges(count: number, batchSize: number): Generator<{ start: number; end: number }> {
  checkBatchSize(batchSize);
  for (let start = 0; start < count; start += batchSize)
    yield { start, end: Math.min(count, start + batchSize) };
}

/**
 * Iterates a whole split in order (no shuffling) in chunks of `batchSize`; the last chunk may be smaller. Each
 * batch's tensors belong to the caller.
 */
export function* evalBatches(split: ImageSplit, batchSize: number): Generator<EvalBatch> {
  checkSplit(split);
  for (const { start, end } of evalRanges(split.count, batchSize)) {
    const indices = new Int32Array(end - start);
    for (let i = 0; i < indices.length; i++) indices[i] = start + i;
    yield { ...makeBatch(split, indices), start, size: end - start };
  }
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
}

/**
 * Position in the stream of training batches, plain JSON. Restoring it (option `cursor` or
 * {@link Dataset.restore}) yields exactly the batches that would have followed when it was taken.
 */
export interface DataCursor {
  readonly version: 1;
  /** Number of items of the dataset it was taken from; must match on restore. */
  readonly size: number;
  readonly seed: number;
  readonly shuffle: boolean;
  /** Current epoch (0-based). */
  readonly epoch: number;
  /** Items of the current epoch already handed out (0…size). */
  readonly position: number;
  /** Mulberry32 state at the start of the current epoch, before its shuffle (a uint32). */
  readonly epochState: number;
}

/**
 * Options of a {@link Dataset}: batch size (items per batch), shuffling seed, what to do with the last partial
 * batch, and a cursor to resume from.
 */
export interface DatasetOptions {
  readonly batchSize: number;
  /** Any integer; reduced to uint32 as the initial Mulberry32 state. Default 0. */
  readonly seed?: number;
  /** Reshuffle every epoch (default true). With false, items come in file order, epoch after epoch. */
  readonly shuffle?: boolean;
  /**
   * What to do with the `size mod batchSize` items left at the end of an epoch: `'partial'` (default, like
   * PyTorch's DataLoader) hands them out as a smaller batch; `'drop'` skips them so every batch is full.
   */
  readonly lastBatch?: 'partial' | 'drop';
  /** Resume from a saved cursor instead of the start of epoch 0. */
  readonly cursor?: DataCursor;
}

/**
 * Seeded, epoch-based batching over an {@link ImageSplit}. Epoch e's order is Fisher–Yates (see `prng.ts`) applied
 * to the identity 0…N−1, drawing from one Mulberry32 stream seeded with `seed >>> 0` that continues across epochs.
 * Batches are cut from that order in sequence; tensors are built lazily from the raw bytes.
 */
export class Dataset {
  readonly split: ImageSplit;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly lastBatch: 'partial' | 'drop';
  private seedValue: number;
  private epochValue = 0;
  private positionValue = 0;
  private epochStateValue: number;
  private rng: Mulberry32;
  private order: Int32Array;

  constructor(split: ImageSplit, options: DatasetOptions) {
    checkSplit(split);
    checkBatchSize(options.batchSize);
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.split = split;
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle ?? true;
    this.lastBatch = options.lastBatch ?? 'partial';
    if (split.count === 0) throw new DatasetError('BAD_DATA', split.name, 'cannot batch an empty split');
    if (this.lastBatch === 'drop' && split.count < this.batchSize) {
      throw new RangeError(
        `split '${split.name}' has ${split.count} items, fewer than batchSize ${this.batchSize} with lastBatch 'drop'`,
      );
    }
    this.seedValue = seed;
    this.epochStateValue = seed >>> 0;
    this.rng = new Mulberry32(this.epochStateValue);
    this.order = this.makeOrder();
    if (options.cursor) this.restore(options.cursor);
  }

  /** Number of items. */
  get size(): number {
    return this.split.count;
  }

  get seed(): number {
    return this.seedValue;
  }

  /** Epoch of the most recent (or, before the first, the next) batch. */
  get epoch(): number {
    return this.epochValue;
  }

  /** Items of the current epoch already handed out. */
  get position(): number {
    return this.positionValue;
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    return this.lastBatch === 'drop'
      ? Math.floor(this.size / this.batchSize)
      : Math.ceil(this.size / this.batchSize);
  }

  private makeOrder(): Int32Array {
    if (this.shuffle) return permutation(this.size, this.rng);
    return Int32Array.from({ length: this.size }, (_, i) => i);
  }

  /** A copy of the current epoch's item order. */
  epochOrder(): Int32Array {
    return this.order.slice();
  }

  /** Item indices of the next batch (advances the cursor); no tensors are made. */
  nextBatchIndices(): Int32Array {
    const remaining = this.size - this.positionValue;
    const needed = this.lastBatch === 'drop' ? this.batchSize : 1;
    if (remaining < needed) {
      this.epochValue += 1;
      this.positionValue = 0;
      this.epochStateValue = this.rng.state;
      this.order = this.makeOrder();
    }
    const start = this.positionValue;
    const end = Math.min(this.size, start + this.batchSize);
    this.positionValue = end;
    return this.order.slice(start, end);
  }

  /** The next training batch as tensors (advances the cursor). The caller disposes `xs` and `ys`. */
  nextBatch(): Batch {
    return makeBatch(this.split, this.nextBatchIndices());
  }

  /** The next `count` batches. */
  *batches(count: number): Generator<Batch> {
    for (let i = 0; i < count; i++) yield this.nextBatch();
  }

  /** In-order evaluation chunks over this dataset's split (does not touch the cursor). */
  evalBatches(batchSize = this.batchSize): Generator<EvalBatch> {
    return evalBatches(this.split, batchSize);
  }

  /** The current position as plain JSON. */
  cursor(): DataCursor {
    return {
      version: 1,
      size: this.size,
      seed: this.seedValue,
      shuffle: this.shuffle,
      epoch: this.epochValue,
      position: this.positionValue,
      epochState: this.epochStateValue,
    };
  }

  /** Continues from a cursor taken with {@link Dataset.cursor | `cursor()`} on a dataset of the same size and shuffle setting. */
  restore(cursor: DataCursor): void {
    const bad = (problem: string): never => {
      throw new DatasetError('BAD_CURSOR', this.split.name, `cannot restore data cursor: ${problem}`);
    };
    if (typeof cursor !== 'object' || cursor === null) bad('not an object');
    if (cursor.version !== 1) bad(`unknown version ${String(cursor.version)}`);
    if (cursor.size !== this.size) bad(`it was taken on ${cursor.size} items, this dataset has ${this.size}`);
    if (cursor.shuffle !== this.shuffle)
      bad(`shuffle is ${cursor.shuffle} in the cursor, ${this.shuffle} here`);
    if (!Number.isSafeInteger(cursor.seed)) bad(`seed ${String(cursor.seed)} is not an integer`);
    if (!Number.isSafeInteger(cursor.epoch) || cursor.epoch < 0)
      bad(`epoch ${String(cursor.epoch)} is invalid`);
    if (!Number.isInteger(cursor.position) || cursor.position < 0 || cursor.position > this.size) {
      bad(`position ${String(cursor.position)} is outside 0…${this.size}`);
    }
    if (!Number.isInteger(cursor.epochState) || cursor.epochState < 0 || cursor.epochState > 0xffffffff) {
      bad(`epochState ${String(cursor.epochState)} is not a uint32`);
    }
    this.seedValue = cursor.seed;
    this.epochValue = cursor.epoch;
    this.positionValue = cursor.position;
    this.epochStateValue = cursor.epochState;
    this.rng = new Mulberry32(cursor.epochState);
    this.order = this.makeOrder();
  }

  /** A fresh dataset (same options, cursor at the start) over the first `count` items. */
  subset(count: number): Dataset {
    return new Dataset(subsetSplit(this.split, count), {
      batchSize: this.batchSize,
      seed: this.seedValue,
      shuffle: this.shuffle,
      lastBatch: this.lastBatch,
    });
  }
}

/** Same as `new Dataset(split, options)`. */
export function createDataset(split: ImageSplit, options: DatasetOptions): Dataset {
  return new Dataset(split, options);
}
