import * as tf from '@tensorflow/tfjs-core';
import { fail } from '../errors.js';
import { type PartSpec, type SlotFormat, type SlotStorage, variableFrom } from './format.js';

/**
 * Signed 8-bit integers packed into int32 words, because TF.js has no int8 dtype.
 *
 * Layout is planar: with L lanes and M = ceil(N / L) words, element i lives in lane floor(i / M) of word i mod M.
 * - 4 lanes (two's-complement bytes) on backends with exact int32 arithmetic (cpu, wasm, tensorflow):
 *   word = byte0 + byte1·2^8 + byte2·2^16 + value3·2^24. Bytes are read back by shifting a lane into the top byte
 *   with a wrapping int32 multiply, masking it with bitwiseAnd and dividing by 2^24, which is exact.
 * - 3 lanes (offset-binary bytes, value + 128) where int32 is exact only below 2^24 (WebGL keeps int32 in float
 *   textures): word = b0 + b1·2^8 + b2·2^16 < 2^24, read back with exact floor divisions.
 */
export type Int8Lanes = 3 | 4;

const TWO_24 = 16777216;
const TOP_BYTE_MASK = -16777216; // 0xFF000000 as int32

const int = (value: number) => tf.scalar(value, 'int32');

/** The lane count that is exact on the active backend. */
export function exactLanesForBackend(backend: string = tf.getBackend()): Int8Lanes {
  return backend === 'webgl' || backend === 'webgpu' ? 3 : 4;
}

/** Packs int32 values in [-128, 127] (any shape) into int32 words. */
export function packInt8(values: tf.Tensor, lanes: Int8Lanes): tf.Tensor1D {
  return tf.tidy(() => {
    const size = values.size;
    const words = Math.ceil(size / lanes);
    const padded = words * lanes;
    if (words === 0) return tf.tensor1d([], 'int32');
    const flat = tf.reshape(tf.cast(values, 'int32'), [size]);
    const full = padded > size ? tf.concat([flat, tf.zeros([padded - size], 'int32')]) : flat;
    const lane = tf.split(full, lanes);
    if (lanes === 4) {
      // The low byte of a two's-complement int32 is exactly its value mod 256 (bitwiseAnd does not broadcast).
      const mask255 = tf.fill([words], 255, 'int32');
      const byte = (t: tf.Tensor) => tf.bitwiseAnd(t, mask255);
      return tf.addN([
        byte(lane[0]!),
        tf.mul(byte(lane[1]!), int(256)),
        tf.mul(byte(lane[2]!), int(65536)),
        tf.mul(lane[3]!, int(TWO_24)),
      ]) as tf.Tensor1D;
    }
    const offset = (t: tf.Tensor) => tf.add(t, int(128));
    return tf.addN([
      offset(lane[0]!),
      tf.mul(offset(lane[1]!), int(256)),
      tf.mul(offset(lane[2]!), int(65536)),
    ]) as tf.Tensor1D;
  });
}

/** Unpacks words made by `packInt8` back into int32 values of the given shape. */
export function unpackInt8(words: tf.Tensor, shape: readonly number[], lanes: Int8Lanes): tf.Tensor {
  return tf.tidy(() => {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size === 0) return tf.zeros([...shape], 'int32');
    let parts: tf.Tensor[];
    if (lanes === 4) {
      const mask = tf.fill([words.size], TOP_BYTE_MASK, 'int32');
      const topByte = (t: tf.Tensor) => tf.floorDiv(tf.bitwiseAnd(t, mask), int(TWO_24));
      parts = [
        topByte(tf.mul(words, int(TWO_24))),
        topByte(tf.mul(words, int(65536))),
        topByte(tf.mul(words, int(256))),
        topByte(words),
      ];
    } else {
      const b2 = tf.floorDiv(words, int(65536));
      const low16 = tf.sub(words, tf.mul(b2, int(65536)));
      const b1 = tf.floorDiv(low16, int(256));
      const b0 = tf.sub(low16, tf.mul(b1, int(256)));
      parts = [b0, b1, b2].map((b) => tf.sub(b, int(128)));
    }
    const all = tf.concat(parts);
    return tf.reshape(tf.slice(all, 0, size), [...shape]);
  });
}

function checkInt8(value: tf.Tensor, where: string): void {
  if (value.dtype !== 'int32')
    fail('state-dtype', `${where}: expected int32 counter values, got ${value.dtype}`);
  if (value.size === 0) return;
  const [lo, hi] = tf
    .tidy(() => [tf.min(value), tf.max(value)])
    .map((t) => {
      const v = t.dataSync()[0]!;
      t.dispose();
      return v;
    });
  if (lo! < -128 || hi! > 127) {
    fail('state-range', `${where}: int8 values must lie in [-128, 127], got a range of [${lo}, ${hi}]`);
  }
}

/** Storage of the `int8` format. Fused kernels may update `words` directly (same layout, same lane count). */
export class PackedInt8Storage implements SlotStorage {
  readonly words: tf.Variable;

  private readonly shape: readonly number[];

  constructor(
    initial: tf.Tensor,
    readonly lanes: Int8Lanes,
  ) {
    this.shape = initial.shape;
    this.words = variableFrom(packInt8(initial, lanes));
  }

  get tensors(): readonly tf.Tensor[] {
    return [this.words];
  }

  read(): tf.Tensor {
    return unpackInt8(this.words, this.shape, this.lanes);
  }

  write(value: tf.Tensor): void {
    const packed = packInt8(value, this.lanes);
    this.words.assign(packed);
    packed.dispose();
  }

  save(): tf.Tensor[] {
    return [this.read()];
  }

  dispose(): void {
    this.words.dispose();
  }
}

/** Options of the {@link int8} format. */
export interface Int8FormatOptions {
  /** The value one unit of the counter stands for (GradSign: 1/64). Metadata for readers; storage is exact. */
  scale: number;
  /** Lanes per int32 word; 'auto' picks the exact choice for the backend active at allocation. */
  lanes?: Int8Lanes | 'auto';
}

/** int8 counters with a fixed scale, packed 4 (or 3 on WebGL) to an int32 word: about 1 byte per element. */
export function int8(options: Int8FormatOptions): SlotFormat & { readonly scale: number } {
  const lanes = () =>
    options.lanes === undefined || options.lanes === 'auto' ? exactLanesForBackend() : options.lanes;
  const format = {
    id: 'int8',
    dtype: 'int32' as const,
    scale: options.scale,
    create: (initial: tf.Tensor) => new PackedInt8Storage(initial, lanes()),
    parts: (shape: readonly number[]): PartSpec[] => [
      { suffix: '', shape: [...shape], dtype: 'int32', storeAs: 'int8' },
    ],
    load(_shape: readonly number[], [part]: readonly tf.Tensor[]) {
      checkInt8(part!, 'int8 state');
      return new PackedInt8Storage(part!, lanes());
    },
    validate: checkInt8,
  };
  return format;
}
