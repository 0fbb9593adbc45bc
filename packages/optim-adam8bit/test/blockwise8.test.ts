import { dequantizeBlockwise, quantizeBlockwise } from '@gradsign/optim-core';
import { bitsEqual, NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DYNAMIC_SIGNED, DYNAMIC_UNSIGNED } from '../src/index.js';
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
  describe(`block-wise 8-bit quantization with the dynamic maps on ${backend}`, () => {
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
  });
}
