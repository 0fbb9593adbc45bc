import * as tf from '@tensorflow/tfjs-core';
import { fail } from '../errors.js';
import { float32 } from './float32.js';
import { type PartSpec, type SlotFormat, type SlotStorage, variableFrom } from './format.js';
import { exactLanesForBackend, type Int8Lanes, packInt8, unpackInt8 } from './packed-int8.js';

/**
 * How a value normalised by its block's absmax (x / absmax, in [-1, 1]) becomes an 8-bit code and back. Codes are
 * int32 integers in [min, max], a range of at most 256 within [-128, 127] (stored as int8) or [0, 255] (uint8).
 */
export interface BlockwiseCode {
  /** A stable name; the format's default id is `blockwise8-<name>`. */
  readonly name: string;
  /** The smallest code. */
  readonly min: number;
  /** The largest code. */
  readonly max: number;
  /** Normalised float32 values (flat) → int32 codes in [min, max]. Called inside `tf.tidy`. */
  encode(x: tf.Tensor1D): tf.Tensor1D;
  /** int32 codes (flat) → normalised float32 values. Called inside `tf.tidy`. */
  decode(codes: tf.Tensor1D): tf.Tensor1D;
}

const int = (value: number) => tf.scalar(value, 'int32');
const f = Math.fround;

/**
 * What a code made by {@link linearCode} or {@link lookupCode} computes, element by element, for fused kernels that
 * encode and decode in JavaScript with the same float32 arithmetic. Codes of other makers have none, and
 * optimizers take the op-composed path for them.
 */
export type ScalarCodeForm =
  | { readonly kind: 'linear'; readonly levels: number }
  | { readonly kind: 'lookup'; readonly values: Float32Array; readonly midpoints: Float32Array };

const scalarForms = new WeakMap<BlockwiseCode, ScalarCodeForm>();

/** The element-by-element form of `code`, or undefined when it was not made by `linearCode` or `lookupCode`. */
export function scalarFormOf(code: BlockwiseCode): ScalarCodeForm | undefined {
  return scalarForms.get(code);
}

/**
 * The linear symmetric code: q = floor(levels · x + 0.5) in [-levels, levels], decoded as q / levels. Rounding is
 * floor(· + 0.5) rather than `tf.round`, whose ties differ between backends' kernels; every step is one float32
 * operation, so codes are the same on every backend.
 */
export function linearCode(levels = 127): BlockwiseCode & { readonly levels: number } {
  if (!Number.isSafeInteger(levels) || levels < 1 || levels > 127)
    fail('invalid-config', `linearCode: levels must be an integer in [1, 127], got ${levels}`);
  const code = {
    name: `linear${levels}`,
    levels,
    min: -levels,
    max: levels,
    encode: (x: tf.Tensor1D) => tf.cast(tf.floor(tf.add(tf.mul(x, levels), 0.5)), 'int32') as tf.Tensor1D,
    decode: (codes: tf.Tensor1D) => tf.div(tf.cast(codes, 'float32'), levels) as tf.Tensor1D,
  };
  scalarForms.set(code, { kind: 'linear', levels });
  return code;
}

/** A code given by a table of values: code k decodes to `values[k]`, x encodes to the nearest value. */
export interface LookupCode extends BlockwiseCode {
  /** Up to 256 sorted, distinct float32 values in [-1, 1]. */
  readonly values: Float32Array;
  /** The float32 midpoints between neighbouring values: x encodes as the number of midpoints below it. */
  readonly midpoints: Float32Array;
}

/**
 * `table[indices]`. Both kernels give the same values; wasm's gatherND is about 10× faster than its gather on a
 * 1-D table (5 vs 55 ms for 1M indices), while on cpu gather is the faster one.
 */
function lookup(table: tf.Tensor1D, indices: tf.Tensor1D): tf.Tensor1D {
  if (tf.getBackend() === 'wasm') return tf.gatherND(table, tf.reshape(indices, [-1, 1])) as tf.Tensor1D;
  return tf.gather(table, indices) as tf.Tensor1D;
}

/**
 * A lookup-table code from 2 to 256 values (sorted here; distinct, within [-1, 1]), such as bitsandbytes' dynamic
 * maps. The nearest value is found with `tf.lowerBound` over the midpoints f32((a + b) · 0.5) (a binary search,
 * O(n) memory, a kernel on cpu, wasm and webgl); a value exactly on a midpoint takes the lower code. Comparisons
 * are exact, so codes are the same on every backend. Codes are 0 … values.length − 1, stored as uint8.
 */
export function lookupCode(name: string, values: ArrayLike<number>): LookupCode {
  const sorted = Float32Array.from(values).sort();
  if (sorted.length < 2 || sorted.length > 256)
    fail('invalid-config', `lookupCode: a code needs 2 to 256 values, got ${sorted.length}`);
  for (let k = 0; k < sorted.length; k++) {
    const v = sorted[k]!;
    if (!(v >= -1 && v <= 1)) fail('invalid-config', `lookupCode: code value ${v} is outside [-1, 1]`);
    if (k > 0 && !(v > sorted[k - 1]!))
      fail('invalid-config', `lookupCode: code values must be distinct, ${v} repeats`);
  }
  const midpoints = Float32Array.from({ length: sorted.length - 1 }, (_, k) =>
    f(f(sorted[k]! + sorted[k + 1]!) * 0.5),
  );
  const code: LookupCode = {
    name,
    values: sorted,
    midpoints,
    min: 0,
    max: sorted.length - 1,
    encode: (x) => tf.lowerBound(tf.tensor1d(midpoints, 'float32'), x) as tf.Tensor1D,
    decode: (codes) => lookup(tf.tensor1d(sorted, 'float32'), codes),
  };
  scalarForms.set(code, { kind: 'lookup', values: sorted, midpoints });
  return code;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Whether a code is stored as unsigned bytes (offset by 128 when packed) or as signed ones. */
const storeAsOf = (code: BlockwiseCode): 'int8' | 'uint8' => (code.min >= 0 ? 'uint8' : 'int8');
const offsetOf = (code: BlockwiseCode) => (code.min >= 0 ? 128 : 0);

/** The flattened `value` padded with zeros to whole blocks: [blocks, blockSize]. */
function blocksOf(flat: tf.Tensor, blockSize: number): tf.Tensor2D {
  const n = flat.size;
  const blocks = Math.ceil(n / blockSize);
  const padded = blocks * blockSize;
  const full = padded > n ? tf.concat([flat, tf.zeros([padded - n], flat.dtype)]) : flat;
  return tf.reshape(full, [blocks, blockSize]);
}

/** The first `n` elements of a [blocks, blockSize] grid, flat. */
function firstOf(grid: tf.Tensor, n: number): tf.Tensor1D {
  const flat = tf.reshape(grid, [-1]);
  return (flat.size > n ? tf.slice(flat, 0, n) : flat) as tf.Tensor1D;
}

/**
 * Block-wise quantization: the flattened tensor is cut into blocks of `blockSize` elements (the last one padded
 * with zeros), each block is divided by its absolute maximum (a block of zeros by 1) and every element is encoded
 * by `code`. Returns int32 codes (one per element) and float32 absmax (one per block); the caller owns both.
 */
export function quantizeBlockwise(
  value: tf.Tensor,
  code: BlockwiseCode,
  blockSize: number,
): { codes: tf.Tensor1D; absmax: tf.Tensor1D } {
  return tf.tidy(() => {
    const n = value.size;
    if (n === 0) return { codes: tf.tensor1d([], 'int32'), absmax: tf.tensor1d([], 'float32') };
    const grid = blocksOf(tf.reshape(tf.cast(value, 'float32'), [n]), blockSize);
    const absmax = tf.max(tf.abs(grid), 1) as tf.Tensor1D;
    const divisor = tf.reshape(tf.where(tf.greater(absmax, 0), absmax, tf.onesLike(absmax)), [-1, 1]);
    return { codes: code.encode(firstOf(tf.div(grid, divisor), n)), absmax };
  });
}

/** The inverse of `quantizeBlockwise`: `code.decode(codes[i]) · absmax[block of i]`, shaped as `shape`. */
export function dequantizeBlockwise(
  codes: tf.Tensor,
  absmax: tf.Tensor,
  code: BlockwiseCode,
  shape: readonly number[],
  blockSize: number,
): tf.Tensor {
  return tf.tidy(() => {
    const n = codes.size;
    if (n === 0) return tf.zeros([...shape], 'float32');
    const unit = blocksOf(code.decode(tf.reshape(codes, [n])), blockSize);
    return tf.reshape(firstOf(tf.mul(unit, tf.reshape(absmax, [-1, 1])), n), [...shape]);
  });
}

interface Layout {
  readonly code: BlockwiseCode;
  readonly blockSize: number;
}

/**
 * The storage of a quantized slot: codes packed four (WebGL: three) to an int32 word with optim-core's int8
 * packing (unsigned codes offset by −128), and one float32 absmax per block. Fused kernels may update `words` and
 * `absmax` directly (same layout, same lane count).
 */
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
    this.words = variableFrom(this.pack(codes));
    this.absmax = variableFrom(tf.clone(absmax));
  }

  get tensors(): readonly tf.Tensor[] {
    return [this.words, this.absmax];
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  /** The code of the stored bytes. */
  get code(): BlockwiseCode {
    return this.layout.code;
  }

  /** Elements per absmax block. */
  get blockSize(): number {
    return this.layout.blockSize;
  }

  /** The codes, int32 in [code.min, code.max], one per element (flat). The caller owns them. */
  codes(): tf.Tensor1D {
    const offset = offsetOf(this.layout.code);
    return tf.tidy(() => {
      const bytes = unpackInt8(this.words, [this.size], this.lanes) as tf.Tensor1D;
      return offset ? tf.add(bytes, int(offset)) : bytes;
    });
  }

  read(): tf.Tensor {
    return tf.tidy(() =>
      dequantizeBlockwise(this.codes(), this.absmax, this.layout.code, this.shape, this.layout.blockSize),
    );
  }

  write(value: tf.Tensor): void {
    const { codes, absmax } = quantizeBlockwise(value, this.layout.code, this.layout.blockSize);
    const words = this.pack(codes);
    this.words.assign(words);
    this.absmax.assign(absmax);
    tf.dispose([codes, absmax, words]);
  }

  save(): tf.Tensor[] {
    return [this.codes(), tf.clone(this.absmax)];
  }

  /** Frees the `words` and `absmax` variables. */
  dispose(): void {
    this.words.dispose();
    this.absmax.dispose();
  }

  private pack(codes: tf.Tensor): tf.Tensor1D {
    const offset = offsetOf(this.layout.code);
    return tf.tidy(() => packInt8(offset ? tf.sub(codes, int(offset)) : codes, this.lanes));
  }
}

/** Options of {@link blockwise8}: the code, the block size and which tensors stay float32. */
export interface Blockwise8Options {
  /** How normalised values become bytes: `linearCode(127)`, `lookupCode(name, values)`, or your own. */
  code: BlockwiseCode;
  /** Elements per absmax block (default 256, as bitsandbytes' 8-bit optimizers). */
  blockSize?: number;
  /**
   * Tensors with fewer elements keep plain float32 state (default 4096, bitsandbytes' `min_8bit_size`): for small
   * tensors (biases, norms) the absmax overhead buys little and their precision matters most.
   */
  minSize?: number;
  /** Codes per int32 word; 'auto' (default) picks 4 on exact-int32 backends and 3 on WebGL, at allocation. */
  lanes?: Int8Lanes | 'auto';
  /** The format's id, recorded in `describeState()` (default `blockwise8-<code name>`). */
  id?: string;
  /** The weight-name suffix of the codes part (default 'codes'; the absmax part is always 'absmax'). */
  codesPart?: string;
}

/** The slot format {@link blockwise8} returns, with the settings it was made with. */
export type Blockwise8Format = SlotFormat & {
  readonly code: BlockwiseCode;
  readonly blockSize: number;
  readonly minSize: number;
  /** Whether a tensor of this shape is quantized (true) or kept in float32 (false). */
  quantizes(shape: readonly number[]): boolean;
};

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
 * Block-wise 8-bit state (as in bitsandbytes' 8-bit optimizers): per block of `blockSize` elements one float32
 * absmax, and per element one byte, the code of x / absmax. Bytes for n elements: 4·ceil(n/4) + 4·ceil(n/blockSize)
 * (WebGL: 4·ceil(n/3) + …), about 1.016 per element at block size 256; tensors under `minSize` elements take 4
 * bytes per element in float32.
 *
 * The portable parts (`getWeights`) are the raw state: the codes (int32, `storeAs` int8 or uint8 as the code's
 * range) and `absmax` (float32), so a round trip through a checkpoint keeps every byte. Below `minSize`, the one
 * part is float32's.
 */
export function blockwise8(options: Blockwise8Options): Blockwise8Format {
  const { code } = options;
  const id = options.id ?? `blockwise8-${code.name}`;
  const codesPart = options.codesPart ?? 'codes';
  const blockSize = options.blockSize ?? 256;
  const minSize = options.minSize ?? 4096;
  if (!Number.isSafeInteger(blockSize) || blockSize < 1)
    fail('invalid-config', `${id}: blockSize must be a positive integer, got ${blockSize}`);
  if (!Number.isSafeInteger(minSize) || minSize < 0)
    fail('invalid-config', `${id}: minSize must be an integer >= 0, got ${minSize}`);
  const [lo, hi] = code.min >= 0 ? [0, 255] : [-128, 127];
  if (!Number.isSafeInteger(code.min) || !Number.isSafeInteger(code.max) || code.min < lo || code.max > hi)
    fail(
      'invalid-config',
      `${id}: codes must lie within [-128, 127] or [0, 255], got [${code.min}, ${code.max}]`,
    );
  if (!codesPart || codesPart === 'absmax')
    fail('invalid-config', `${id}: codesPart must be a non-empty name other than 'absmax'`);
  const layout: Layout = { code, blockSize };
  const lanes = () =>
    options.lanes === undefined || options.lanes === 'auto' ? exactLanesForBackend() : options.lanes;
  const quantizes = (shape: readonly number[]) => sizeOf(shape) >= Math.max(minSize, 1);

  return {
    id,
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
        { suffix: codesPart, shape: [n], dtype: 'int32', storeAs: storeAsOf(code) },
        { suffix: 'absmax', shape: [Math.ceil(n / blockSize)], dtype: 'float32', storeAs: 'float32' },
      ];
    },
    load(shape, parts) {
      if (!quantizes(shape)) return float32.load(shape, parts);
      const where = `${id} state`;
      const [codes, absmax] = parts;
      const n = sizeOf(shape);
      const blocks = Math.ceil(n / blockSize);
      if (codes?.dtype !== 'int32' || codes.size !== n)
        fail('weights-mismatch', `${where}: ${codesPart} must be int32 with ${n} elements`);
      if (absmax?.dtype !== 'float32' || absmax.size !== blocks)
        fail('weights-mismatch', `${where}: absmax must be float32 with ${blocks} elements`);
      const [cmin, cmax] = rangeOf(codes);
      if (cmin < code.min || cmax > code.max) {
        fail(
          'state-range',
          `${where}: ${codesPart} must lie in [${code.min}, ${code.max}], got [${cmin}, ${cmax}]`,
        );
      }
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
