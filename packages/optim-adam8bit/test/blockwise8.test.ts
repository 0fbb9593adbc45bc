import { bitsEqual, NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Blockwise8Storage,
  blockwise8,
  DYNAMIC_SIGNED,
  DYNAMIC_UNSIGNED,
  dequantizeBlockwise,
  quantizeBlockwise,
} from '../src/index.js';
import { dequantizeRef, quantizeRef, randn } from './reference.js';

/** Values over many magnitudes, zero blocks, exact code values, midpoints and ±absmax: the hard cases. */
function hardValues(n: number, signed: boolean): Float32Array {
  const base = randn(11, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const magnitude = 10 ** -((i * 7) % 9); // 1 … 1e-8 within every block
    out[i] = (signed ? base[i]! : Math.abs(base[i]!)) * magnitude;
  }
  out.fill(0, 256, 512); // a block of zeros
  // a block whose absmax is 1, holding every code value and every midpoint exactly
  const code = signed ? DYNAMIC_SIGNED : DYNAMIC_UNSIGNED;
  out[512] = 1;
  for (let k = 0; k < 127; k++) {
    out[513 + k] = code.values[k * 2]!;
    out[640 + k] = code.midpoints[k * 2]!;
  }
  out[767] = signed ? -1 : 0.5;
  return out;
}

for (const backend of NODE_BACKENDS) {
  describe(`block-wise 8-bit quantization on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    for (const [name, code] of [
      ['signed', DYNAMIC_SIGNED],
      ['unsigned', DYNAMIC_UNSIGNED],
    ] as const) {
      it(`matches the plain-JS reference exactly (${name} code, sizes not a multiple of 256)`, async () => {
        for (const n of [1, 255, 257, 1000, 4097, 70_001]) {
          const values = n >= 1000 ? hardValues(n, name === 'signed') : randn(n, n, 0.01);
          if (name === 'unsigned') for (let i = 0; i < n; i++) values[i] = Math.abs(values[i]!);
          const expected = quantizeRef(values, code);
          const input = tf.tensor1d(values);
          const { codes, absmax } = quantizeBlockwise(input, code, 256);
          expect(Array.from(await codes.data()), `codes, n = ${n}`).toEqual(Array.from(expected.codes));
          expect(bitsEqual((await absmax.data()) as Float32Array, expected.absmax)).toBe(true);
          const decoded = dequantizeBlockwise(codes, absmax, code, [n], 256);
          const want = dequantizeRef(expected.codes, expected.absmax, code);
          expect(bitsEqual((await decoded.data()) as Float32Array, want)).toBe(true);
          tf.dispose([input, codes, absmax, decoded]);
        }
      });
    }

    it('encodes exact code values exactly, midpoints to the lower code, and a zero block to zeros', async () => {
      const values = hardValues(1024, true);
      const input = tf.tensor1d(values);
      const { codes, absmax } = quantizeBlockwise(input, DYNAMIC_SIGNED, 256);
      const c = await codes.data();
      for (let k = 0; k < 127; k++) {
        expect(c[513 + k]).toBe(k * 2);
        expect(c[640 + k]).toBe(k * 2);
      }
      expect(c[512]).toBe(255); // 1 → the code 1.0
      expect(c[767]).toBe(0); // -1 → the most negative code, -0.9930
      expect(new Set(c.slice(256, 512))).toEqual(new Set([127])); // zeros → the code 0
      expect((await absmax.data())[1]).toBe(0);
      const decoded = await dequantizeBlockwise(codes, absmax, DYNAMIC_SIGNED, [1024], 256).data();
      expect(new Set(decoded.slice(256, 512))).toEqual(new Set([0]));
      tf.dispose([input, codes, absmax]);
    });

    it('keeps the error of every element within half a code step of its block', async () => {
      const n = 8192;
      const values = randn(3, n, 0.01);
      const input = tf.tensor1d(values);
      const { codes, absmax } = quantizeBlockwise(input, DYNAMIC_SIGNED, 256);
      const decoded = await dequantizeBlockwise(codes, absmax, DYNAMIC_SIGNED, [n], 256).data();
      const c = await codes.data();
      const a = await absmax.data();
      const v = DYNAMIC_SIGNED.values;
      for (let i = 0; i < n; i++) {
        const k = c[i]!;
        const step = Math.max(k < 255 ? v[k + 1]! - v[k]! : 0, k > 0 ? v[k]! - v[k - 1]! : 0);
        expect(Math.abs(decoded[i]! - values[i]!)).toBeLessThanOrEqual(
          (step / 2 + 2 ** -22) * a[Math.floor(i / 256)]!,
        );
      }
      tf.dispose([input, codes, absmax]);
    });

    it('stores 4·ceil(n/4) + 4·ceil(n/256) bytes, as tf.memory() measures, and float32 below minSize', () => {
      const format = blockwise8({ code: DYNAMIC_SIGNED });
      for (const [n, bytes] of [
        [4095, 4 * 4095],
        [4096, 4096 + 64],
        [66_954, 66_956 + 4 * 262],
        [1_000_003, 1_000_004 + 4 * 3907],
      ] as const) {
        const initial = tf.zeros([n]);
        const before = tf.memory().numBytes;
        const storage = format.create(initial);
        expect(tf.memory().numBytes - before, `n = ${n}`).toBe(bytes);
        expect(storage.tensors.reduce((s, t) => s + t.size * 4, 0)).toBe(bytes);
        storage.dispose();
        initial.dispose();
      }
      expect(blockwise8({ code: DYNAMIC_SIGNED, minSize: 0 }).quantizes([1])).toBe(true);
    });

    it('save → load keeps the raw words and absmax bit for bit', async () => {
      const format = blockwise8({ code: DYNAMIC_UNSIGNED });
      const n = 5000;
      const initial = tf.tensor2d(randn(5, n, 1e-3).map(Math.abs), [50, 100]);
      const a = format.create(initial) as Blockwise8Storage;
      const parts = a.save();
      expect(format.parts([50, 100]).map((p) => [p.suffix, p.dtype, p.shape, p.storeAs])).toEqual([
        ['codes', 'int32', [n], 'uint8'],
        ['absmax', 'float32', [20], 'float32'],
      ]);
      const b = format.load([50, 100], parts) as Blockwise8Storage;
      for (let i = 0; i < 2; i++) {
        const x = await a.tensors[i]!.data();
        const y = await b.tensors[i]!.data();
        expect(bitsEqual(x as Float32Array, y as Float32Array)).toBe(true);
      }
      const [ra, rb] = [a.read(), b.read()];
      expect(ra.shape).toEqual([50, 100]);
      expect(bitsEqual((await ra.data()) as Float32Array, (await rb.data()) as Float32Array)).toBe(true);
      tf.dispose([initial, ...parts, ra, rb]);
      a.dispose();
      b.dispose();
    });

    it('rejects codes outside [0, 255], a negative or non-finite absmax, and wrong sizes', () => {
      const format = blockwise8({ code: DYNAMIC_SIGNED });
      const codes = tf.fill([4096], 256, 'int32');
      const okCodes = tf.zeros([4096], 'int32');
      const absmax = tf.ones([16]);
      const bad = tf.tensor1d([...Array(15).fill(1), -1]);
      const nan = tf.tensor1d([...Array(15).fill(1), Number.NaN]);
      const code = (fn: () => unknown) => {
        try {
          fn();
        } catch (error) {
          return (error as { code?: string }).code;
        }
        return 'no error';
      };
      expect(code(() => format.load([4096], [codes, absmax]))).toBe('state-range');
      expect(code(() => format.load([4096], [okCodes, bad]))).toBe('state-range');
      expect(code(() => format.load([4096], [okCodes, nan]))).toBe('state-range');
      expect(code(() => format.load([4097], [okCodes, absmax]))).toBe('weights-mismatch');
      expect(code(() => format.validate(tf.zeros([4096], 'int32'), 'x'))).toBe('state-dtype');
      tf.dispose([codes, okCodes, absmax, bad, nan]);
    });
  });
}
