import { type BlockwiseCode, scalarFormOf } from '../state/blockwise8.js';

const f = Math.fround;

/**
 * A block-wise 8-bit code element by element, on the bytes as `Blockwise8Storage` packs them (the code minus 128
 * for unsigned codes, as a two's-complement byte), with the float32 arithmetic of the code's tfjs ops, so a fused
 * kernel encodes and decodes bit-identically to them.
 */
export interface Blockwise8Codec {
  /** The normalised value (before the block's absmax) of every stored byte 0 … 255; 0 for bytes out of range. */
  readonly decode: Float32Array;
  /** A normalised value (x / absmax) → its stored byte. */
  encode(x: number): number;
  /**
   * A block at once: divides `values[k]` by `divisor` (float32, in place; `bits` views the same memory) and stores
   * the byte of each at `out[positions[k]]`, for k < count. The same bytes as `encode`, without a call per element.
   */
  encodeBlock(
    values: Float32Array,
    bits: Uint32Array,
    count: number,
    divisor: number,
    positions: Int32Array,
    out: Uint8Array,
  ): void;
  /**
   * The code as plain data, for kernels in other languages: `linear` (byte = floor(x · levels + 0.5) mod 256), or
   * `lookup` (byte = (number of `midpoints` below x − `offset`) mod 256). For a lookup code, `buckets[key]` narrows
   * that count for every x whose float32 pattern has `key` as its top 16 bits: it lies in [lo, lo + span], with
   * lo = buckets[key] & 255 and span = buckets[key] >> 8 (NaN buckets span everything).
   */
  readonly form: Blockwise8CodecForm;
}

/** {@link Blockwise8Codec.form}. */
export type Blockwise8CodecForm =
  | { readonly kind: 'linear'; readonly levels: number }
  | {
      readonly kind: 'lookup';
      readonly midpoints: Float32Array;
      readonly offset: number;
      readonly buckets: Uint16Array;
    };

const codecs = new WeakMap<BlockwiseCode, Blockwise8Codec | null>();

/** The codec of `code`, or null when it is not one of `linearCode`'s or `lookupCode`'s (then fuse nothing). */
export function blockwise8Codec(code: BlockwiseCode): Blockwise8Codec | null {
  let codec = codecs.get(code);
  if (codec === undefined) {
    codec = makeCodec(code);
    codecs.set(code, codec);
  }
  return codec;
}

function makeCodec(code: BlockwiseCode): Blockwise8Codec | null {
  const form = scalarFormOf(code);
  if (form === undefined) return null;
  const offset = code.min >= 0 ? 128 : 0;
  const decodedValue =
    form.kind === 'linear' ? (k: number) => f(k / form.levels) : (k: number) => form.values[k]!;
  const decode = new Float32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    const k = ((byte << 24) >> 24) + offset;
    decode[byte] = k >= code.min && k <= code.max ? decodedValue(k) : 0;
  }
  if (form.kind === 'linear') {
    const levels = form.levels;
    // tfjs: cast(floor(x · levels + 0.5)), each a float32 operation
    return {
      decode,
      form: { kind: 'linear', levels },
      encode: (x) => Math.floor(f(f(x * levels) + 0.5)) & 255,
      encodeBlock(values, _bits, count, divisor, positions, out) {
        for (let k = 0; k < count; k++)
          out[positions[k]!] = Math.floor(f(f(f(values[k]! / divisor) * levels) + 0.5)) & 255;
      },
    };
  }
  return { decode, ...lookupEncoder(form.midpoints, offset) };
}

/**
 * `tf.lowerBound(midpoints, x)` (the number of midpoints below x) as a stored byte. The search is the cpu kernel's
 * binary search, narrowed first by the top 16 bits of x's float32 pattern: the floats sharing them form an interval,
 * whose ends bound the answer, so the result is the same for every x that is not NaN (and for NaN, whose buckets
 * search everything, as the cpu kernel does). Most buckets hold no midpoint, and there the answer needs no search.
 */
function lookupEncoder(
  midpoints: Float32Array,
  offset: number,
): Pick<Blockwise8Codec, 'encode' | 'encodeBlock' | 'form'> {
  const n = midpoints.length;
  const lo = new Uint16Array(65536);
  const hi = new Uint16Array(65536);
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  const lowerBound = (x: number, left: number, right: number) => {
    while (left < right) {
      const mid = (left + right) >> 1;
      if (midpoints[mid]! < x) left = mid + 1;
      else right = mid;
    }
    return right;
  };
  for (let key = 0; key < 65536; key++) {
    scratchBits[0] = key * 65536;
    const a = scratch[0]!;
    scratchBits[0] = key * 65536 + 65535;
    const b = scratch[0]!;
    const nan = Number.isNaN(a) || Number.isNaN(b);
    lo[key] = nan ? 0 : lowerBound(Math.min(a, b), 0, n);
    hi[key] = nan ? n : lowerBound(Math.max(a, b), 0, n);
  }
  const buckets = new Uint16Array(65536);
  for (let key = 0; key < 65536; key++) buckets[key] = lo[key]! | ((hi[key]! - lo[key]!) << 8);
  return {
    form: { kind: 'lookup', midpoints, offset, buckets },
    encode(x) {
      scratch[0] = x;
      const key = scratchBits[0]! >>> 16;
      return (lowerBound(x, lo[key]!, hi[key]!) - offset) & 255;
    },
    encodeBlock(values, bits, count, divisor, positions, out) {
      for (let k = 0; k < count; k++) {
        const x = f(values[k]! / divisor);
        values[k] = x;
        const key = bits[k]! >>> 16;
        let left = lo[key]!;
        let right = hi[key]!;
        while (left < right) {
          const mid = (left + right) >> 1;
          if (midpoints[mid]! < x) left = mid + 1;
          else right = mid;
        }
        out[positions[k]!] = (right - offset) & 255;
      }
    },
  };
}

/**
 * Byte positions of elements `start` … `start + count − 1` in words packed `lanes` to a word, planar (element i in
 * lane floor(i / words) of word i mod words), written to `out`.
 */
export function planarPositions(
  start: number,
  count: number,
  words: number,
  lanes: number,
  out: Int32Array,
): void {
  let lane = Math.floor(start / words);
  let word = start - lane * words;
  for (let k = 0; k < count; k++) {
    out[k] = lanes * word + lane;
    if (++word === words) {
      word = 0;
      lane++;
    }
  }
}
