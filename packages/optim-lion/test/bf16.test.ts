import { bitsEqual, NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { bf16, fromBf16Bits, packBf16, toBf16Bits, unpackBf16 } from '../src/index.js';
import { bf16BitsRef, fromBf16BitsRef, randn } from './reference.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (b: number) => {
  u32[0] = b >>> 0;
  return f32[0]!;
};

/** The hard cases: ties to even (both parities), carries into the next exponent, subnormals, extremes. */
function hardValues(): Float32Array {
  const values: number[] = [0, 1, -1, 0.1, -0.1, 3.4e38, -3.4e38, 1e-45, -1e-45, 1.17549435e-38, 5e-39];
  for (const exponent of [1, 20, 126, 127, 128, 200, 254]) {
    for (const mantissa of [0x0000, 0x7fff, 0x8000, 0x8001, 0x18000, 0x10000, 0x7f8000, 0x7fffff, 0x7f7fff]) {
      const b = (exponent << 23) | mantissa;
      values.push(fromBits(b), fromBits(b | 0x80000000));
    }
  }
  for (const mantissa of [1, 0x8000, 0x18000, 0x7fffff, 0x7f8000, 0x7fc000]) values.push(fromBits(mantissa)); // subnormals
  return Float32Array.from(values);
}

for (const backend of NODE_BACKENDS) {
  describe(`bf16 on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('rounds to nearest even exactly as the bit-level reference, and decodes exactly', async () => {
      const random = randn(9, 20_000).map((v, i) => v * 10 ** ((i % 60) - 30));
      for (const values of [hardValues(), random]) {
        const input = tf.tensor1d(values);
        const bits = toBf16Bits(input);
        const expected = Array.from(values, bf16BitsRef);
        const got = Array.from(await bits.data());
        const wrong = got.findIndex((b, i) => b !== expected[i]);
        expect(wrong, wrong >= 0 ? `${values[wrong]}: ${got[wrong]} vs ${expected[wrong]}` : '').toBe(-1);
        const decoded = fromBf16Bits(bits, [values.length]);
        const want = Float32Array.from(expected, fromBf16BitsRef);
        expect(bitsEqual((await decoded.data()) as Float32Array, want)).toBe(true);
        tf.dispose([input, bits, decoded]);
      }
    });

    it('packs two patterns per int32 word and unpacks them exactly (planar, odd sizes)', async () => {
      for (const n of [1, 2, 3, 1001]) {
        const patterns = Int32Array.from({ length: n }, (_, i) => (i * 40503 + 65535 * (i % 2)) % 65536);
        const input = tf.tensor1d(patterns, 'int32');
        const words = packBf16(input, 2);
        expect(words.size).toBe(Math.ceil(n / 2));
        const back = unpackBf16(words, n, 2);
        expect(Array.from(await back.data())).toEqual(Array.from(patterns));
        tf.dispose([input, words, back]);
      }
    });

    it('stores 4·ceil(n/2) bytes (tf.memory()), saves the raw patterns and loads them back bit for bit', async () => {
      const format = bf16({ minSize: 0 });
      expect(format.parts([7, 143])).toEqual([
        { suffix: 'bits', shape: [1001], dtype: 'int32', storeAs: 'uint16' },
      ]);
      const values = tf.tensor2d(randn(2, 1001), [7, 143]);
      const before = tf.memory().numBytes;
      const storage = format.create(values);
      expect(tf.memory().numBytes - before).toBe(4 * 501);
      const [bits] = storage.save();
      expect(Array.from(await bits!.data())).toEqual(Array.from(await values.data(), bf16BitsRef));
      const loaded = format.load([7, 143], [bits!]);
      const [a, b] = [storage.read(), loaded.read()];
      expect(a.shape).toEqual([7, 143]);
      expect(bitsEqual((await a.data()) as Float32Array, (await b.data()) as Float32Array)).toBe(true);
      tf.dispose([values, bits!, a, b]);
      storage.dispose();
      loaded.dispose();
    });

    it('rejects patterns outside [0, 65535], infinities, NaN and non-finite values', () => {
      const format = bf16({ minSize: 0 });
      const code = (fn: () => unknown) => {
        try {
          fn();
        } catch (error) {
          return (error as { code?: string }).code;
        }
        return 'no error';
      };
      const bad = tf.tensor1d([0, 65536], 'int32');
      const nan = tf.tensor1d([1, Number.NaN]);
      expect(code(() => format.load([2], [bad]))).toBe('state-range');
      for (const pattern of [0x7f80, 0xff80, 0x7fc0]) {
        const special = tf.tensor1d([0, pattern], 'int32');
        expect(
          code(() => format.load([2], [special])),
          pattern.toString(16),
        ).toBe('state-range');
        special.dispose();
      }
      expect(code(() => format.validate(nan, 'x'))).toBe('state-range');
      tf.dispose([bad, nan]);
    });
  });
}
