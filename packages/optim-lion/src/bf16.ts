import {
  fail,
  float32,
  type PartSpec,
  type SlotFormat,
  type SlotStorage,
  variableFrom,
} from '@gradsign/optim-core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * bfloat16: the top 16 bits of a float32 (sign, 8 exponent bits, 7 mantissa bits), rounded to nearest, ties to
 * even. TF.js has no bitcast, so the bits are computed arithmetically, and exactly, from comparisons and
 * power-of-two scalings:
 *
 *     a = |x|;  e = floor(log2 a) = (number of powers 2^-149 … 2^127 that are <= a) − 150   (tf.upperBound)
 *     E = max(e, −126);  y = a / 2^(E−7)            (exact: a power-of-two scaling; y in [0, 256])
 *     r = round half to even (y)                     (floor, compare, parity: exact)
 *     bits = (x < 0 ? 2^15 : 0) + (E + 126)·128 + r  (r = 256 carries into the exponent; subnormals have E = −126)
 *
 * and back: field = bits_abs div 128, mantissa = bits_abs mod 128,
 * |x| = (field > 0 ? 128 + mantissa : mantissa) · 2^(max(field, 1) − 134). Powers of two come from lookup tables,
 * never from `pow`. Negative zero is stored as +0; NaN is not representable (the format's `validate` rejects it).
 */

const int = (value: number) => tf.scalar(value, 'int32');
const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** 2^-149 … 2^127: every float32 power of two, ascending. */
const POWERS = Float32Array.from({ length: 277 }, (_, i) => 2 ** (i - 149));
/** ULP[E + 126] = 2^(E − 7), the bf16 spacing for exponents E = −126 … 127. */
const ULP = Float32Array.from({ length: 254 }, (_, i) => 2 ** (i - 126 - 7));
/** SCALE[field] = 2^(max(field, 1) − 134): the value of one mantissa unit for an exponent field. */
const SCALE = Float32Array.from({ length: 256 }, (_, field) => 2 ** (Math.max(field, 1) - 134));

/** `table[indices]` (gatherND on wasm, where it is much faster than gather; gather elsewhere). Exact either way. */
function lookup(table: Float32Array, indices: tf.Tensor): tf.Tensor {
  const t = tf.tensor1d(table, 'float32');
  if (tf.getBackend() === 'wasm') return tf.gatherND(t, tf.reshape(indices, [-1, 1]));
  return tf.gather(t, tf.reshape(indices, [-1]));
}

/** float32 → bf16 bit patterns (int32 in [0, 65535]), round to nearest even, flattened. */
export function toBf16Bits(value: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const x = tf.reshape(tf.cast(value, 'float32'), [-1]);
    if (x.size === 0) return tf.tensor1d([], 'int32');
    const a = tf.abs(x);
    const e = tf.sub(tf.upperBound(tf.tensor1d(POWERS, 'float32'), a), int(150));
    const exponent = tf.maximum(e, int(-126));
    const y = tf.div(a, lookup(ULP, tf.add(exponent, int(126))));
    const floor = tf.floor(y);
    const fraction = tf.sub(y, floor);
    const whole = tf.cast(floor, 'int32');
    const odd = tf.equal(tf.bitwiseAnd(whole, tf.onesLike(whole)), int(1));
    const up = tf.logicalOr(tf.greater(fraction, 0.5), tf.logicalAnd(tf.equal(fraction, 0.5), odd));
    const r = tf.add(whole, tf.cast(up, 'int32'));
    const magnitude = tf.add(tf.mul(tf.add(exponent, int(126)), int(128)), r);
    return tf.add(magnitude, tf.mul(tf.cast(tf.less(x, 0), 'int32'), int(32768))) as tf.Tensor1D;
  });
}

/** bf16 bit patterns (int32 in [0, 65535]) → float32 values of the given shape. */
export function fromBf16Bits(bits: tf.Tensor, shape: readonly number[]): tf.Tensor {
  return tf.tidy(() => {
    if (bits.size === 0) return tf.zeros([...shape], 'float32');
    const flat = tf.reshape(bits, [-1]);
    const negative = tf.greaterEqual(flat, int(32768));
    const magnitude = tf.where(negative, tf.sub(flat, int(32768)), flat);
    const field = tf.floorDiv(magnitude, int(128));
    const mantissa = tf.sub(magnitude, tf.mul(field, int(128)));
    const significand = tf.where(tf.greater(field, int(0)), tf.add(mantissa, int(128)), mantissa);
    const value = tf.mul(tf.cast(significand, 'float32'), lookup(SCALE, field));
    return tf.reshape(tf.where(negative, tf.neg(value), value), [...shape]);
  });
}

/** bf16 patterns per int32 word: 2 where int32 arithmetic is exact, 1 on WebGL (exact only below 2^24). */
export type Bf16Lanes = 1 | 2;

/** The bf16 lane count that is exact on `backend` (default: the active one): 1 on WebGL and WebGPU, else 2. */
export function bf16LanesForBackend(backend: string = tf.getBackend()): Bf16Lanes {
  return backend === 'webgl' || backend === 'webgpu' ? 1 : 2;
}

const LOW16 = 65535;
const HIGH16 = -65536; // 0xFFFF0000 as int32

/** Packs bf16 patterns (planar: with M words, element i is in half floor(i / M) of word i mod M). */
export function packBf16(bits: tf.Tensor, lanes: Bf16Lanes): tf.Tensor1D {
  return tf.tidy(() => {
    const flat = tf.reshape(tf.cast(bits, 'int32'), [-1]);
    if (lanes === 1) return flat as tf.Tensor1D;
    const n = flat.size;
    const words = Math.ceil(n / 2);
    if (words === 0) return tf.tensor1d([], 'int32');
    const full = 2 * words > n ? tf.concat([flat, tf.zeros([2 * words - n], 'int32')]) : flat;
    const [low, high] = tf.split(full, 2);
    return tf.add(low!, tf.mul(high!, int(65536))) as tf.Tensor1D; // wraps to int32 exactly on cpu and wasm
  });
}

/** The inverse of `packBf16`: `n` patterns in [0, 65535]. */
export function unpackBf16(words: tf.Tensor, n: number, lanes: Bf16Lanes): tf.Tensor1D {
  return tf.tidy(() => {
    if (lanes === 1) return tf.clone(words) as tf.Tensor1D;
    if (n === 0) return tf.tensor1d([], 'int32');
    const low16 = tf.fill([words.size], LOW16, 'int32');
    const low = tf.bitwiseAnd(words, low16);
    // high·2^16 has at most 16 significant bits, so the division is exact even where it goes through float32; the
    // quotient is negative for high >= 2^15, and masking its two's complement gives high back
    const shifted = tf.floorDiv(tf.bitwiseAnd(words, tf.fill([words.size], HIGH16, 'int32')), int(65536));
    const high = tf.bitwiseAnd(shifted, low16);
    return tf.slice(tf.concat([low, high]), 0, n) as tf.Tensor1D;
  });
}

/** The storage of a bf16 slot: `words`, patterns packed `lanes` to an int32 word. Fused kernels update `words`. */
export class Bf16Storage implements SlotStorage {
  readonly words: tf.Variable;

  constructor(
    private readonly shape: readonly number[],
    bits: tf.Tensor,
    readonly lanes: Bf16Lanes,
  ) {
    this.words = variableFrom(packBf16(bits, lanes));
  }

  get tensors(): readonly tf.Tensor[] {
    return [this.words];
  }

  private bits(): tf.Tensor1D {
    return unpackBf16(this.words, sizeOf(this.shape), this.lanes);
  }

  read(): tf.Tensor {
    return tf.tidy(() => fromBf16Bits(this.bits(), this.shape));
  }

  write(value: tf.Tensor): void {
    const words = tf.tidy(() => packBf16(toBf16Bits(value), this.lanes));
    this.words.assign(words);
    words.dispose();
  }

  save(): tf.Tensor[] {
    return [this.bits()];
  }

  dispose(): void {
    this.words.dispose();
  }
}

function finite(t: tf.Tensor): boolean {
  if (t.size === 0) return true;
  const all = tf.tidy(() => tf.all(tf.isFinite(t)));
  const ok = all.dataSync()[0] === 1;
  all.dispose();
  return ok;
}

/** Options of the {@link bf16} format. */
export interface Bf16Options {
  /** Tensors with fewer elements keep float32 state (default 4096). */
  minSize?: number;
  /** Patterns per int32 word; 'auto' picks 2 on exact-int32 backends and 1 on WebGL, at allocation. */
  lanes?: Bf16Lanes | 'auto';
}

/**
 * bfloat16 state, two values packed in an int32 word: 4·ceil(n/2) bytes for n elements (WebGL: 4·n). Every value
 * keeps 8 significant bits (relative error ≤ 2^-9) over float32's whole range, with no block scale. The portable
 * part is the raw 16-bit patterns (int32 in [0, 65535], `storeAs: 'uint16'`), so a checkpoint keeps every bit.
 */
export function bf16(options: Bf16Options = {}): SlotFormat & {
  /** Whether a tensor of this shape is stored as bf16 (true) or kept in float32 (false). */
  quantizes(shape: readonly number[]): boolean;
} {
  const minSize = options.minSize ?? 4096;
  if (!Number.isSafeInteger(minSize) || minSize < 0)
    fail('invalid-config', `bf16: minSize must be an integer >= 0, got ${minSize}`);
  const lanes = () =>
    options.lanes === undefined || options.lanes === 'auto' ? bf16LanesForBackend() : options.lanes;
  const quantizes = (shape: readonly number[]) => sizeOf(shape) >= Math.max(minSize, 1);
  return {
    id: 'bf16',
    dtype: 'float32',
    quantizes,
    create(initial) {
      if (!quantizes(initial.shape)) return float32.create(initial);
      const bits = toBf16Bits(initial);
      const storage = new Bf16Storage(initial.shape, bits, lanes());
      bits.dispose();
      return storage;
    },
    parts(shape): PartSpec[] {
      if (!quantizes(shape)) return float32.parts(shape);
      return [{ suffix: 'bits', shape: [sizeOf(shape)], dtype: 'int32', storeAs: 'uint16' }];
    },
    load(shape, parts) {
      if (!quantizes(shape)) return float32.load(shape, parts);
      const [bits] = parts;
      const n = sizeOf(shape);
      if (bits?.dtype !== 'int32' || bits.size !== n)
        fail('weights-mismatch', `bf16 state: bits must be int32 with ${n} elements`);
      if (n > 0) {
        const [lo, hi] = tf
          .tidy(() => [tf.min(bits), tf.max(bits)])
          .map((s) => {
            const v = s.dataSync()[0]!;
            s.dispose();
            return v;
          });
        if (lo! < 0 || hi! > 65535)
          fail('state-range', `bf16 state: bits must lie in [0, 65535], got [${lo}, ${hi}]`);
        // exponent field 255 is infinity or NaN
        const special = tf.tidy(() => tf.any(tf.greaterEqual(tf.mod(bits, int(32768)), int(0x7f80))));
        const nonFinite = special.dataSync()[0] === 1;
        special.dispose();
        if (nonFinite) fail('state-range', 'bf16 state: bits hold an infinity or NaN');
      }
      return new Bf16Storage(shape, bits, lanes());
    },
    validate(value, where) {
      if (value.dtype !== 'float32')
        fail('state-dtype', `${where}: expected float32 values, got ${value.dtype}`);
      if (quantizes(value.shape) && !finite(value))
        fail('state-range', `${where}: bf16 state must be finite`);
    },
  };
}
