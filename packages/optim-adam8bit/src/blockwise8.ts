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
import type { QuantizationCode } from './dynamic-map.js';

const int = (value: number) => tf.scalar(value, 'int32');

/** Codes are stored as signed bytes (code - 128) so that optim-core's int8 packing holds them exactly. */
const CODE_OFFSET = 128;

/**
 * The index of the nearest code value for every element of `x` (values already divided by their block's absmax):
 * the number of midpoints strictly below x (`tf.lowerBound`, a binary search over the 255 sorted midpoints, O(n)
 * memory and a kernel on cpu, wasm and webgl). A value exactly on a midpoint takes the lower code. Comparisons are
 * exact, so the result is the same on every backend.
 */
export function nearestCode(x: tf.Tensor1D, code: QuantizationCode): tf.Tensor1D {
  return tf.tidy(() => tf.lowerBound(tf.tensor1d(code.midpoints, 'float32'), x) as tf.Tensor1D);
}

/**
 * Block-wise quantization: the flattened tensor is cut into blocks of `blockSize` elements (the last one padded
 * with zeros), each block is divided by its absolute maximum (a block of zeros by 1) and every element becomes the
 * index of the nearest value of `code`. Returns int32 codes in [0, 255] (one per element) and float32 absmax (one
 * per block); the caller owns both.
 */
export function quantizeBlockwise(
  value: tf.Tensor,
  code: QuantizationCode,
  blockSize: number,
): { codes: tf.Tensor1D; absmax: tf.Tensor1D } {
  return tf.tidy(() => {
    const n = value.size;
    const blocks = Math.ceil(n / blockSize);
    if (n === 0) return { codes: tf.tensor1d([], 'int32'), absmax: tf.tensor1d([], 'float32') };
    const padded = blocks * blockSize;
    const flat = tf.reshape(tf.cast(value, 'float32'), [n]);
    const full = padded > n ? tf.concat([flat, tf.zeros([padded - n], 'float32')]) : flat;
    const grid = tf.reshape(full, [blocks, blockSize]);
    const absmax = tf.max(tf.abs(grid), 1) as tf.Tensor1D;
    const divisor = tf.where(tf.greater(absmax, 0), absmax, tf.onesLike(absmax));
    const normed = tf.reshape(tf.div(grid, tf.reshape(divisor, [blocks, 1])), [padded]);
    const x = (padded > n ? tf.slice(normed, 0, n) : normed) as tf.Tensor1D;
    return { codes: nearestCode(x, code), absmax };
  });
}

/**
 * `table[indices]`. Both kernels give the same values; wasm's gatherND is about 10× faster than its gather on a
 * 1-D table (5 vs 55 ms for 1M indices), while on cpu gather is the faster one.
 */
function lookup(table: tf.Tensor1D, indices: tf.Tensor): tf.Tensor1D {
  if (tf.getBackend() === 'wasm') return tf.gatherND(table, tf.reshape(indices, [-1, 1])) as tf.Tensor1D;
  return tf.gather(table, indices) as tf.Tensor1D;
}

/** The inverse of `quantizeBlockwise`: `code.values[codes[i]] · absmax[block of i]`, shaped as `shape`. */
export function dequantizeBlockwise(
  codes: tf.Tensor,
  absmax: tf.Tensor,
  code: QuantizationCode,
  shape: readonly number[],
  blockSize: number,
): tf.Tensor {
  return tf.tidy(() => {
    const n = codes.size;
    if (n === 0) return tf.zeros([...shape], 'float32');
    const blocks = Math.ceil(n / blockSize);
    const padded = blocks * blockSize;
    const values = lookup(tf.tensor1d(code.values, 'float32'), tf.reshape(codes, [n]));
    const full = padded > n ? tf.concat([values, tf.zeros([padded - n], 'float32')]) : values;
    const scaled = tf.mul(tf.reshape(full, [blocks, blockSize]), tf.reshape(absmax, [blocks, 1]));
    const flat = tf.reshape(scaled, [padded]);
    return tf.reshape(padded > n ? tf.slice(flat, 0, n) : flat, [...shape]);
  });
}

interface Layout {
  readonly code: QuantizationCode;
  readonly blockSize: number;
}

/** The storage of a quantized slot: codes packed four (WebGL: three) to an int32 word, and one absmax per block. */
export class Blockwise8Storage implements SlotStorage {
  readonly words: tf.Variable;
  readonly absmax: tf.Variable;

  constructor(
    private readonly layout: Layout,
    private readonly shape: readonly number[],
    codes: tf.Tensor,
    absmax: tf.Tensor,
    readonly lanes: Int8Lanes,
  ) {
    this.words = variableFrom(tf.tidy(() => packInt8(tf.sub(codes, int(CODE_OFFSET)), lanes)));
    this.absmax = variableFrom(tf.clone(absmax));
  }

  get tensors(): readonly tf.Tensor[] {
    return [this.words, this.absmax];
  }

  /** The codes, int32 in [0, 255], one per element (flat). The caller owns them. */
  codes(): tf.Tensor1D {
    return tf.tidy(() =>
      tf.add(unpackInt8(this.words, [this.size], this.lanes), int(CODE_OFFSET)),
    ) as tf.Tensor1D;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  read(): tf.Tensor {
    return tf.tidy(() =>
      dequantizeBlockwise(this.codes(), this.absmax, this.layout.code, this.shape, this.layout.blockSize),
    );
  }

  write(value: tf.Tensor): void {
    const { codes, absmax } = quantizeBlockwise(value, this.layout.code, this.layout.blockSize);
    const words = tf.tidy(() => packInt8(tf.sub(codes, int(CODE_OFFSET)), this.lanes));
    this.words.assign(words);
    this.absmax.assign(absmax);
    tf.dispose([codes, absmax, words]);
  }

  save(): tf.Tensor[] {
    return [this.codes(), tf.clone(this.absmax)];
  }

  dispose(): void {
    this.words.dispose();
    this.absmax.dispose();
  }
}

export interface Blockwise8Options {
  /** The 256 code values (e.g. `DYNAMIC_SIGNED` for a first moment, `DYNAMIC_UNSIGNED` for a second moment). */
  code: QuantizationCode;
  /** Elements per absmax block; bitsandbytes' 8-bit optimizers use 256. */
  blockSize?: number;
  /**
   * Tensors with fewer elements keep plain float32 state, as bitsandbytes' `min_8bit_size` (4096) does: for small
   * tensors (biases, norms) the absmax overhead buys little and their precision matters most.
   */
  minSize?: number;
  /** Codes per int32 word; 'auto' picks 4 on exact-int32 backends and 3 on WebGL, at allocation. */
  lanes?: Int8Lanes | 'auto';
}

export type Blockwise8Format = SlotFormat & {
  readonly code: QuantizationCode;
  readonly blockSize: number;
  readonly minSize: number;
  /** Whether a tensor of this shape is quantized (true) or kept in float32 (false). */
  quantizes(shape: readonly number[]): boolean;
};

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function rangeOf(t: tf.Tensor): [number, number, boolean] {
  if (t.size === 0) return [0, 0, true];
  const [lo, hi, finite] = tf
    .tidy(() => [tf.min(t), tf.max(t), tf.all(tf.isFinite(t))])
    .map((s) => {
      const v = s.dataSync()[0]!;
      s.dispose();
      return v;
    });
  return [lo!, hi!, finite === 1];
}

/**
 * Block-wise 8-bit state in the style of bitsandbytes: per block of `blockSize` elements one float32 absmax, and
 * per element one byte, the index of the nearest value of a 256-value `code`. Bytes for n elements:
 * 4·ceil(n/4) + 4·ceil(n/blockSize) (WebGL: 4·ceil(n/3) + …), about 1.016 per element at block size 256;
 * tensors under `minSize` elements take 4 bytes per element in float32.
 *
 * The portable parts (`getWeights`) are the raw state: `codes` (int32 in [0, 255], stored as uint8) and `absmax`,
 * so a round trip through a checkpoint keeps every byte.
 */
export function blockwise8(options: Blockwise8Options): Blockwise8Format {
  const { code } = options;
  const blockSize = options.blockSize ?? 256;
  const minSize = options.minSize ?? 4096;
  if (!Number.isSafeInteger(blockSize) || blockSize < 1)
    fail('invalid-config', `blockwise8: blockSize must be a positive integer, got ${blockSize}`);
  if (!Number.isSafeInteger(minSize) || minSize < 0)
    fail('invalid-config', `blockwise8: minSize must be an integer >= 0, got ${minSize}`);
  if (code.values.length !== 256 || code.midpoints.length !== 255)
    fail('invalid-config', 'blockwise8: a code needs 256 values and 255 midpoints');
  const layout: Layout = { code, blockSize };
  const lanes = () =>
    options.lanes === undefined || options.lanes === 'auto' ? exactLanesForBackend() : options.lanes;
  const quantizes = (shape: readonly number[]) => sizeOf(shape) >= Math.max(minSize, 1);

  return {
    id: `blockwise8-${code.name}`,
    dtype: 'float32',
    code,
    blockSize,
    minSize,
    quantizes,
    create(initial) {
      if (!quantizes(initial.shape)) return float32.create(initial);
      const { codes, absmax } = quantizeBlockwise(initial, code, blockSize);
      const storage = new Blockwise8Storage(layout, initial.shape, codes, absmax, lanes());
      tf.dispose([codes, absmax]);
      return storage;
    },
    parts(shape): PartSpec[] {
      if (!quantizes(shape)) return float32.parts(shape);
      const n = sizeOf(shape);
      return [
        { suffix: 'codes', shape: [n], dtype: 'int32', storeAs: 'uint8' },
        { suffix: 'absmax', shape: [Math.ceil(n / blockSize)], dtype: 'float32', storeAs: 'float32' },
      ];
    },
    load(shape, parts) {
      if (!quantizes(shape)) return float32.load(shape, parts);
      const where = `blockwise8-${code.name} state`;
      const [codes, absmax] = parts;
      if (!codes || !absmax) fail('weights-mismatch', `${where}: expected the parts codes and absmax`);
      const n = sizeOf(shape);
      if (codes.dtype !== 'int32' || codes.size !== n)
        fail('weights-mismatch', `${where}: codes must be int32 with ${n} elements`);
      const blocks = Math.ceil(n / blockSize);
      if (absmax.dtype !== 'float32' || absmax.size !== blocks)
        fail('weights-mismatch', `${where}: absmax must be float32 with ${blocks} elements`);
      const [lo, hi] = rangeOf(codes);
      if (lo < 0 || hi > 255) fail('state-range', `${where}: codes must lie in [0, 255], got [${lo}, ${hi}]`);
      const [amin, , finite] = rangeOf(absmax);
      if (amin < 0 || !finite) fail('state-range', `${where}: absmax must be finite and >= 0`);
      return new Blockwise8Storage(layout, shape, codes, absmax, lanes());
    },
    validate(value, where) {
      if (value.dtype !== 'float32')
        fail('state-dtype', `${where}: expected float32 values, got ${value.dtype}`);
      if (quantizes(value.shape) && !rangeOf(value)[2])
        fail('state-range', `${where}: block-wise 8-bit state must be finite`);
    },
  };
}
