import { bitsEqual, NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Blockwise8Storage,
  type BlockwiseCode,
  blockwise8,
  dequantizeBlockwise,
  type LookupCode,
  linearCode,
  lookupCode,
  quantizeBlockwise,
} from '../src/state/blockwise8.js';

const f = Math.fround;

/** A signed lookup code of 255 values, sign(t)·t² for t = -1, …, 1 in steps of 1/127: 0 is code 127. */
const SQUARES = lookupCode(
  'squares',
  Array.from({ length: 255 }, (_, k) => {
    const t = (k - 127) / 127;
    return Math.sign(t) * t * t;
  }),
);
/** An unsigned lookup code of 256 values, (k/255)² for k = 0 … 255. */
const USQUARES = lookupCode(
  'usquares',
  Array.from({ length: 256 }, (_, k) => (k / 255) ** 2),
);
const LINEAR = linearCode(127);

/** Plain-JS encoders and decoders of the normalised value: the definitions the tfjs codes must match exactly. */
function refCode(code: BlockwiseCode) {
  if ('values' in code) {
    const { values, midpoints } = code as LookupCode;
    const encode = (x: number) => {
      let below = 0; // the number of midpoints strictly below x
      while (below < midpoints.length && midpoints[below]! < x) below++;
      return below;
    };
    return { encode, decode: (q: number) => values[q]! };
  }
  return { encode: (x: number) => Math.floor(f(f(x * 127) + 0.5)), decode: (q: number) => f(q / 127) };
}

/** Plain-JS block-wise quantization. */
function quantizeRef(values: Float32Array, code: BlockwiseCode, blockSize: number) {
  const { encode, decode } = refCode(code);
  const n = values.length;
  const codes = new Int32Array(n);
  const absmax = new Float32Array(Math.ceil(n / blockSize));
  const decoded = new Float32Array(n);
  for (let b = 0; b < absmax.length; b++) {
    const end = Math.min(n, (b + 1) * blockSize);
    let max = 0;
    for (let i = b * blockSize; i < end; i++) max = Math.max(max, Math.abs(values[i]!));
    absmax[b] = max;
    const divisor = max > 0 ? max : 1;
    for (let i = b * blockSize; i < end; i++) {
      codes[i] = encode(f(values[i]! / divisor));
      decoded[i] = f(decode(codes[i]!) * max);
    }
  }
  return { codes, absmax, decoded };
}

/** Deterministic values over many magnitudes (1 … 1e-8 within every block), a block of zeros at [256, 512). */
function testValues(n: number, signed: boolean): Float32Array {
  let seed = n;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const out = Float32Array.from({ length: n }, (_, i) => {
    const v = next() * 10 ** -((i * 7) % 9);
    return signed ? v : Math.abs(v);
  });
  out.fill(0, 256, Math.min(n, 512));
  return out;
}

const codeError = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'no error';
};

for (const backend of NODE_BACKENDS) {
  describe(`block-wise 8-bit format on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    for (const code of [LINEAR, SQUARES, USQUARES]) {
      it(`quantizes exactly as the plain-JS reference (${code.name}; sizes and blocks not multiples of each other)`, async () => {
        for (const [n, blockSize] of [
          [1, 256],
          [255, 256],
          [1000, 256],
          [70_001, 256],
          [1000, 64],
        ] as const) {
          const values = testValues(n, code.min < 0);
          const ref = quantizeRef(values, code, blockSize);
          const input = tf.tensor1d(values);
          const { codes, absmax } = quantizeBlockwise(input, code, blockSize);
          expect(Array.from(await codes.data()), `codes, n = ${n}`).toEqual(Array.from(ref.codes));
          expect(bitsEqual((await absmax.data()) as Float32Array, ref.absmax)).toBe(true);
          const decoded = dequantizeBlockwise(codes, absmax, code, [n], blockSize);
          expect(bitsEqual((await decoded.data()) as Float32Array, ref.decoded)).toBe(true);
          tf.dispose([input, codes, absmax, decoded]);
        }
      });
    }

    it('linear code: rounds halves up (floor(x + 0.5)) on every backend', async () => {
      // absmax 127 makes 127·x/absmax = x: the halves are exact
      const values = tf.tensor1d([127, 0.5, 1.5, -0.5, -1.5, 2.5, -2.5, 0.4999]);
      const { codes } = quantizeBlockwise(values, LINEAR, 256);
      expect(Array.from(await codes.data())).toEqual([127, 1, 2, 0, -1, 3, -2, 0]);
      tf.dispose([values, codes]);
    });

    it('lookup code: encodes exact code values exactly, midpoints to the lower code, and a zero block to zeros', async () => {
      const values = new Float32Array(768);
      values[0] = 1; // absmax 1: the block holds every code value and every midpoint exactly
      for (let k = 0; k < 127; k++) {
        values[1 + k] = SQUARES.values[2 * k]!;
        values[128 + k] = SQUARES.midpoints[2 * k]!;
      }
      values[255] = -1;
      values[512] = 0.25; // [256, 512) is a block of zeros
      const input = tf.tensor1d(values);
      const { codes, absmax } = quantizeBlockwise(input, SQUARES, 256);
      const c = await codes.data();
      for (let k = 0; k < 127; k++) {
        expect(c[1 + k]).toBe(2 * k);
        expect(c[128 + k]).toBe(2 * k);
      }
      expect([c[0], c[255]]).toEqual([254, 0]);
      expect(new Set(c.slice(256, 512))).toEqual(new Set([127])); // zeros → the code 0
      expect(Array.from(await absmax.data())).toEqual([1, 0, 0.25]);
      const decoded = await dequantizeBlockwise(codes, absmax, SQUARES, [768], 256).data();
      expect(new Set(decoded.slice(256, 512))).toEqual(new Set([0]));
      expect(decoded[512]).toBe(0.25);
      tf.dispose([input, codes, absmax]);
    });

    for (const code of [LINEAR, SQUARES]) {
      it(`keeps the error of every element within half a code step of its block (${code.name})`, async () => {
        const n = 8192;
        const values = testValues(n, true);
        const input = tf.tensor1d(values);
        const { codes, absmax } = quantizeBlockwise(input, code, 256);
        const decoded = await dequantizeBlockwise(codes, absmax, code, [n], 256).data();
        const c = await codes.data();
        const a = await absmax.data();
        const { decode } = refCode(code);
        for (let i = 0; i < n; i++) {
          const k = c[i]!;
          const up = k < code.max ? decode(k + 1) - decode(k) : 0;
          const down = k > code.min ? decode(k) - decode(k - 1) : 0;
          expect(Math.abs(decoded[i]! - values[i]!)).toBeLessThanOrEqual(
            (Math.max(up, down) / 2 + 2 ** -22) * a[Math.floor(i / 256)]!,
          );
        }
        tf.dispose([input, codes, absmax]);
      });
    }

    it('stores 4·ceil(n/4) + 4·ceil(n/256) bytes (3 lanes: 4·ceil(n/3) + …), as tf.memory() measures', () => {
      for (const code of [LINEAR, USQUARES]) {
        for (const [n, lanes, bytes] of [
          [4096, 4, 4096 + 64],
          [66_954, 4, 66_956 + 4 * 262],
          [1_000_003, 4, 1_000_004 + 4 * 3907],
          [4097, 3, 4 * 1366 + 4 * 17],
        ] as const) {
          const format = blockwise8({ code, lanes });
          const initial = tf.zeros([n]);
          const before = tf.memory().numBytes;
          const storage = format.create(initial);
          expect(tf.memory().numBytes - before, `${code.name}, n = ${n}`).toBe(bytes);
          expect(storage.tensors.reduce((s, t) => s + t.size * 4, 0)).toBe(bytes);
          storage.dispose();
          initial.dispose();
        }
      }
    });

    it('keeps float32 state below minSize (4096 by default): 4 bytes per element, one float32 part, exact', async () => {
      const format = blockwise8({ code: LINEAR });
      expect([format.quantizes([4095]), format.quantizes([64, 64]), format.quantizes([0])]).toEqual([
        false,
        true,
        false,
      ]);
      expect(blockwise8({ code: LINEAR, minSize: 0 }).quantizes([1])).toBe(true);
      expect(blockwise8({ code: LINEAR, minSize: 10 }).quantizes([2, 5])).toBe(true);
      expect(format.parts([4095])).toEqual([
        { suffix: '', shape: [4095], dtype: 'float32', storeAs: 'float32' },
      ]);
      const values = testValues(4095, true);
      const initial = tf.tensor1d(values);
      const before = tf.memory().numBytes;
      const storage = format.create(initial);
      expect(tf.memory().numBytes - before).toBe(4 * 4095);
      const parts = storage.save();
      const loaded = format.load([4095], parts);
      const out = loaded.read();
      expect(bitsEqual((await out.data()) as Float32Array, values)).toBe(true);
      tf.dispose([initial, out, ...parts]);
      storage.dispose();
      loaded.dispose();
    });

    for (const code of [LINEAR, SQUARES, USQUARES]) {
      it(`save → load keeps the raw words and absmax bit for bit, as the parts describe them (${code.name})`, async () => {
        const format = blockwise8({ code, blockSize: 100 });
        const n = 5000;
        const initial = tf.tensor2d(testValues(n, code.min < 0), [50, 100]);
        const a = format.create(initial) as Blockwise8Storage;
        const parts = a.save();
        const storeAs = code.min < 0 ? 'int8' : 'uint8';
        expect(format.id).toBe(`blockwise8-${code.name}`);
        expect(format.parts([50, 100])).toEqual([
          { suffix: 'codes', shape: [n], dtype: 'int32', storeAs },
          { suffix: 'absmax', shape: [50], dtype: 'float32', storeAs: 'float32' },
        ]);
        expect(parts.map((p) => [p.dtype, p.shape])).toEqual([
          ['int32', [n]],
          ['float32', [50]],
        ]);
        const [lo, hi] = [tf.min(parts[0]!), tf.max(parts[0]!)];
        expect((await lo.data())[0]).toBeGreaterThanOrEqual(code.min);
        expect((await hi.data())[0]).toBeLessThanOrEqual(code.max);
        const b = format.load([50, 100], parts) as Blockwise8Storage;
        for (let i = 0; i < 2; i++) {
          const x = await a.tensors[i]!.data();
          const y = await b.tensors[i]!.data();
          expect(bitsEqual(x as Float32Array, y as Float32Array)).toBe(true);
        }
        const [ra, rb] = [a.read(), b.read()];
        expect(ra.shape).toEqual([50, 100]);
        expect(bitsEqual((await ra.data()) as Float32Array, (await rb.data()) as Float32Array)).toBe(true);
        tf.dispose([initial, ...parts, ra, rb, lo, hi]);
        a.dispose();
        b.dispose();
      });
    }

    it('takes its id and the name of the codes part from the options', () => {
      const format = blockwise8({ code: LINEAR, id: 'int8-blockwise', codesPart: 'q', minSize: 0 });
      expect(format.id).toBe('int8-blockwise');
      expect(format.parts([3]).map((p) => p.suffix)).toEqual(['q', 'absmax']);
    });

    it('rejects codes outside the code range, a negative or non-finite absmax, wrong sizes and bad values', () => {
      for (const [code, outside] of [
        [LINEAR, 128],
        [LINEAR, -128],
        [SQUARES, 255],
        [USQUARES, 256],
        [USQUARES, -1],
      ] as const) {
        const format = blockwise8({ code });
        const codes = tf.fill([4096], outside, 'int32');
        const absmax = tf.ones([16]);
        expect(
          codeError(() => format.load([4096], [codes, absmax])),
          `${code.name}: ${outside}`,
        ).toBe('state-range');
        tf.dispose([codes, absmax]);
      }
      const format = blockwise8({ code: USQUARES });
      const okCodes = tf.zeros([4096], 'int32');
      const absmax = tf.ones([16]);
      const negative = tf.tensor1d([...Array(15).fill(1), -1]);
      const nan = tf.tensor1d([...Array(15).fill(1), Number.NaN]);
      const infinite = tf.tensor1d([...Array(15).fill(1), Number.POSITIVE_INFINITY]);
      expect(codeError(() => format.load([4096], [okCodes, negative]))).toBe('state-range');
      expect(codeError(() => format.load([4096], [okCodes, nan]))).toBe('state-range');
      expect(codeError(() => format.load([4096], [okCodes, infinite]))).toBe('state-range');
      expect(codeError(() => format.load([4097], [okCodes, absmax]))).toBe('weights-mismatch');
      expect(codeError(() => format.load([4096], [absmax, okCodes]))).toBe('weights-mismatch');
      expect(codeError(() => format.load([4096], [okCodes]))).toBe('weights-mismatch');
      expect(codeError(() => format.validate(tf.zeros([4096], 'int32'), 'x'))).toBe('state-dtype');
      const nanValues = tf.fill([4096], Number.NaN);
      expect(codeError(() => format.validate(nanValues, 'x'))).toBe('state-range');
      tf.dispose([okCodes, absmax, negative, nan, infinite, nanValues]);
    });
  });
}

describe('block-wise 8-bit options and codes', () => {
  it('reject a bad block size, minSize, code range or codes part with invalid-config', () => {
    const bad = { name: 'bad', min: -1, max: 255, encode: LINEAR.encode, decode: LINEAR.decode };
    for (const options of [
      { code: LINEAR, blockSize: 0 },
      { code: LINEAR, blockSize: 1.5 },
      { code: LINEAR, minSize: -1 },
      { code: bad },
      { code: { ...bad, min: 0, max: 256 } },
      { code: LINEAR, codesPart: 'absmax' },
      { code: LINEAR, codesPart: '' },
    ]) {
      expect(
        codeError(() => blockwise8(options)),
        JSON.stringify(options),
      ).toBe('invalid-config');
    }
  });

  it('build linear codes of 1 to 127 levels and lookup codes of 2 to 256 distinct values in [-1, 1]', () => {
    expect([linearCode(7).min, linearCode(7).max, linearCode().name]).toEqual([-7, 7, 'linear127']);
    for (const levels of [0, 128, 2.5]) expect(codeError(() => linearCode(levels))).toBe('invalid-config');
    const code = lookupCode('three', [1, -1, 0]);
    expect([Array.from(code.values), Array.from(code.midpoints), code.min, code.max]).toEqual([
      [-1, 0, 1],
      [-0.5, 0.5],
      0,
      2,
    ]);
    const linear = Array.from({ length: 256 }, (_, k) => (k - 128) / 128);
    expect(() => lookupCode('one', [0])).toThrow(/2 to 256 values/);
    expect(() => lookupCode('long', [...linear, 0.999])).toThrow(/2 to 256 values/);
    expect(() => lookupCode('dup', [0.5, 0.5])).toThrow(/distinct/);
    expect(() => lookupCode('big', [0, 2])).toThrow(/outside/);
    expect(() => lookupCode('nan', [0, Number.NaN])).toThrow(/outside/);
  });
});
