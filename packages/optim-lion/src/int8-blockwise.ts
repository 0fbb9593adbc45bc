import {
  exactLanesForBackend,
  fail,
  float32,
  type Int8Lanes,
  type PartSpec,
  packInt8,
  type SlotFormat,
  type SlotStorage,
  unpackInt8,
  variableFrom,
} from '@gradsign/optim-core';
import * as tf from '@tensorflow/tfjs-core';

/** The largest code: values are stored as round(127 · x / absmax) in [-127, 127]. */
export const INT8_LEVELS = 127;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Pads the flattened `value` with zeros to whole blocks: [blocks, blockSize]. */
function blocksOf(value: tf.Tensor, blockSize: number): tf.Tensor2D {
  const n = value.size;
  const blocks = Math.ceil(n / blockSize);
  const flat = tf.reshape(value, [n]);
  const full =
    blocks * blockSize > n ? tf.concat([flat, tf.zeros([blocks * blockSize - n], value.dtype)]) : flat;
  return tf.reshape(full, [blocks, blockSize]);
}

/**
 * Linear block-wise int8: per block of `blockSize` elements one float32 absmax, per element
 * q = floor(127 · (x / absmax) + 0.5), in [-127, 127] (a block of zeros divides by 1). Returns int32 codes (flat)
 * and absmax; the caller owns both. Rounding is floor(· + 0.5) rather than `tf.round`, whose ties differ between
 * backends' kernels; every step is one float32 operation, so the result is the same on every backend.
 */
export function quantizeInt8Blockwise(
  value: tf.Tensor,
  blockSize: number,
): { q: tf.Tensor1D; absmax: tf.Tensor1D } {
  return tf.tidy(() => {
    const n = value.size;
    if (n === 0) return { q: tf.tensor1d([], 'int32'), absmax: tf.tensor1d([], 'float32') };
    const grid = blocksOf(tf.cast(value, 'float32'), blockSize);
    const absmax = tf.max(tf.abs(grid), 1) as tf.Tensor1D;
    const divisor = tf.reshape(tf.where(tf.greater(absmax, 0), absmax, tf.onesLike(absmax)), [-1, 1]);
    const scaled = tf.mul(tf.div(grid, divisor), INT8_LEVELS);
    const q = tf.cast(tf.floor(tf.add(scaled, 0.5)), 'int32');
    return { q: tf.slice(tf.reshape(q, [-1]), 0, n) as tf.Tensor1D, absmax };
  });
}

/** The inverse: (q / 127) · absmax of its block, shaped as `shape`. */
export function dequantizeInt8Blockwise(
  q: tf.Tensor,
  absmax: tf.Tensor,
  shape: readonly number[],
  blockSize: number,
): tf.Tensor {
  return tf.tidy(() => {
    const n = q.size;
    if (n === 0) return tf.zeros([...shape], 'float32');
    const unit = tf.div(tf.cast(blocksOf(q, blockSize), 'float32'), INT8_LEVELS);
    const values = tf.mul(unit, tf.reshape(absmax, [-1, 1]));
    return tf.reshape(tf.slice(tf.reshape(values, [-1]), 0, n), [...shape]);
  });
}

class Int8BlockwiseStorage implements SlotStorage {
  readonly words: tf.Variable;
  readonly absmax: tf.Variable;

  constructor(
    private readonly shape: readonly number[],
    private readonly blockSize: number,
    q: tf.Tensor,
    absmax: tf.Tensor,
    readonly lanes: Int8Lanes,
  ) {
    this.words = variableFrom(packInt8(q, lanes));
    this.absmax = variableFrom(tf.clone(absmax));
  }

  get tensors(): readonly tf.Tensor[] {
    return [this.words, this.absmax];
  }

  private codes(): tf.Tensor {
    return unpackInt8(this.words, [sizeOf(this.shape)], this.lanes);
  }

  read(): tf.Tensor {
    return tf.tidy(() => dequantizeInt8Blockwise(this.codes(), this.absmax, this.shape, this.blockSize));
  }

  write(value: tf.Tensor): void {
    const { q, absmax } = quantizeInt8Blockwise(value, this.blockSize);
    const words = packInt8(q, this.lanes);
    this.words.assign(words);
    this.absmax.assign(absmax);
    tf.dispose([q, absmax, words]);
  }

  save(): tf.Tensor[] {
    return [this.codes(), tf.clone(this.absmax)];
  }

  dispose(): void {
    this.words.dispose();
    this.absmax.dispose();
  }
}

function scalarsOf(t: tf.Tensor): { lo: number; hi: number; finite: boolean } {
  if (t.size === 0) return { lo: 0, hi: 0, finite: true };
  const [lo, hi, finite] = tf
    .tidy(() => [tf.min(t), tf.max(t), tf.all(tf.isFinite(t))])
    .map((s) => {
      const v = s.dataSync()[0]!;
      s.dispose();
      return v;
    });
  return { lo: lo!, hi: hi!, finite: finite === 1 };
}

export interface Int8BlockwiseOptions {
  /** Elements per absmax block (default 256). */
  blockSize?: number;
  /** Tensors with fewer elements keep float32 state (default 4096, as bitsandbytes' `min_8bit_size`). */
  minSize?: number;
  /** Bytes per int32 word; 'auto' picks 4 on exact-int32 backends and 3 on WebGL, at allocation. */
  lanes?: Int8Lanes | 'auto';
}

/**
 * Linear block-wise int8 state: one signed byte per element (packed four to an int32 word) and one float32 absmax
 * per block. Bytes for n elements: 4·ceil(n/4) + 4·ceil(n/blockSize), about 1.016 per element at block size 256;
 * tensors under `minSize` elements take 4 bytes per element in float32. Portable parts: `q` (int32 in [-127, 127],
 * stored as int8) and `absmax` (float32), the raw state, so checkpoints keep every byte.
 */
export function int8Blockwise(
  options: Int8BlockwiseOptions = {},
): SlotFormat & { quantizes(shape: readonly number[]): boolean } {
  const blockSize = options.blockSize ?? 256;
  const minSize = options.minSize ?? 4096;
  if (!Number.isSafeInteger(blockSize) || blockSize < 1)
    fail('invalid-config', `int8-blockwise: blockSize must be a positive integer, got ${blockSize}`);
  if (!Number.isSafeInteger(minSize) || minSize < 0)
    fail('invalid-config', `int8-blockwise: minSize must be an integer >= 0, got ${minSize}`);
  const lanes = () =>
    options.lanes === undefined || options.lanes === 'auto' ? exactLanesForBackend() : options.lanes;
  const quantizes = (shape: readonly number[]) => sizeOf(shape) >= Math.max(minSize, 1);
  return {
    id: 'int8-blockwise',
    dtype: 'float32',
    quantizes,
    create(initial) {
      if (!quantizes(initial.shape)) return float32.create(initial);
      const { q, absmax } = quantizeInt8Blockwise(initial, blockSize);
      const storage = new Int8BlockwiseStorage(initial.shape, blockSize, q, absmax, lanes());
      tf.dispose([q, absmax]);
      return storage;
    },
    parts(shape): PartSpec[] {
      if (!quantizes(shape)) return float32.parts(shape);
      const n = sizeOf(shape);
      return [
        { suffix: 'q', shape: [n], dtype: 'int32', storeAs: 'int8' },
        { suffix: 'absmax', shape: [Math.ceil(n / blockSize)], dtype: 'float32', storeAs: 'float32' },
      ];
    },
    load(shape, parts) {
      if (!quantizes(shape)) return float32.load(shape, parts);
      const where = 'int8-blockwise state';
      const [q, absmax] = parts;
      const n = sizeOf(shape);
      const blocks = Math.ceil(n / blockSize);
      if (q?.dtype !== 'int32' || q.size !== n)
        fail('weights-mismatch', `${where}: q must be int32 with ${n} elements`);
      if (absmax?.dtype !== 'float32' || absmax.size !== blocks)
        fail('weights-mismatch', `${where}: absmax must be float32 with ${blocks} elements`);
      const codes = scalarsOf(q);
      if (codes.lo < -INT8_LEVELS || codes.hi > INT8_LEVELS)
        fail('state-range', `${where}: q must lie in [-127, 127], got [${codes.lo}, ${codes.hi}]`);
      const scales = scalarsOf(absmax);
      if (scales.lo < 0 || !scales.finite) fail('state-range', `${where}: absmax must be finite and >= 0`);
      return new Int8BlockwiseStorage(shape, blockSize, q, absmax, lanes());
    },
    validate(value, where) {
      if (value.dtype !== 'float32')
        fail('state-dtype', `${where}: expected float32 values, got ${value.dtype}`);
      if (quantizes(value.shape) && !scalarsOf(value).finite)
        fail('state-range', `${where}: int8-blockwise state must be finite`);
    },
  };
}
