// The WebAssembly SIMD max-pool backprop (src/kernels/maxpool-grad.wat) behind the wasm MaxPoolGrad fix: bit for bit
// the same dx as the plain-JS `maxPoolBackprop` (its fallback) on inputs with ties, windows of negative values,
// NaN and ±Infinity, overlapping windows, odd sizes, 'same' and 'valid' padding, and on random shapes (fast-check).
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxPoolBackprop, selectBackend, setMaxPoolGradSimd } from '../src/index.js';
import { maxPoolGradSimdFor } from '../src/kernels/maxpool-grad.js';
import { quiet, rng } from './helpers.js';

type S4 = [number, number, number, number];
type Pair = number | [number, number];

beforeAll(async () => {
  const s = await selectBackend(['wasm'], { onLog: quiet });
  expect(s.fixes).toContain('maxpool-grad');
});

afterAll(() => setMaxPoolGradSimd(true));

/** Random data on a coarse grid (many ties), with some NaN, ±Infinity and −0 sprinkled in when `specials`. */
function data(n: number, seed: number, specials: boolean): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    out[i] = Math.round((r() * 2 - 1) * 4) / 2;
    if (u < 0.15) out[i] = -Math.abs(out[i]!) - 1; // runs of negative windows
    if (!specials) continue;
    if (u > 0.97) out[i] = Number.NaN;
    else if (u > 0.96) out[i] = Number.NEGATIVE_INFINITY;
    else if (u > 0.955) out[i] = Number.POSITIVE_INFINITY;
    else if (u > 0.95) out[i] = -0;
  }
  return out;
}

function gaussian(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() + r() + r() - 1.5) * 3;
  return out;
}

/** MaxPoolGrad on wasm (the installed fix), with or without the SIMD kernel. */
function kernelDx(
  xs: S4,
  x: Float32Array,
  dy: Float32Array,
  k: Pair,
  s: Pair,
  pad: 'same' | 'valid',
  simd: boolean,
) {
  setMaxPoolGradSimd(simd);
  try {
    return tf.tidy(() => {
      const input = tf.tensor4d(x, xs);
      const output = tf.maxPool(input, k, s, pad);
      const dyT = tf.tensor(dy, output.shape);
      const dx = tf
        .engine()
        .runKernel(
          tf.MaxPoolGrad,
          { dy: dyT, input, output },
          { filterSize: k, strides: s, pad },
        ) as tf.Tensor;
      return dx.dataSync() as Float32Array;
    });
  } finally {
    setMaxPoolGradSimd(true);
  }
}

/** Same bits, NaN matching any NaN (payloads are not specified by either engine). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (ua[i] === ub[i]) continue;
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    return false;
  }
  return true;
}

function check(xs: S4, k: Pair, s: Pair, pad: 'same' | 'valid', seed: number, specials: boolean): void {
  const info = tf.backend_util.computePool2DInfo(xs, k, s, 1, pad);
  const n = xs.reduce((a, b) => a * b, 1);
  const x = data(n, seed, specials);
  const dyn = info.outShape.reduce((a, b) => a * b, 1);
  const dy = specials ? data(dyn, seed + 1, true) : gaussian(dyn, seed + 1);
  const js = new Float32Array(n);
  maxPoolBackprop(x, dy, js, info);
  const simd = kernelDx(xs, x, dy, k, s, pad, true);
  const plain = kernelDx(xs, x, dy, k, s, pad, false);
  expect(sameBits(simd, js), `simd vs maxPoolBackprop ${xs} k=${k} s=${s} ${pad}`).toBe(true);
  expect(sameBits(plain, js), `fallback vs maxPoolBackprop ${xs} k=${k} s=${s} ${pad}`).toBe(true);
}

describe('MaxPoolGrad on wasm: the SIMD kernel gives the bits of maxPoolBackprop', () => {
  it('SIMD is available on this wasm backend', () => {
    expect(maxPoolGradSimdFor(tf.backend())).not.toBeNull();
  });

  const configs: Array<{ x: S4; k: Pair; s: Pair; pad: 'same' | 'valid' }> = [
    // The reference CNN's pools.
    { x: [4, 28, 28, 32], k: 2, s: 2, pad: 'valid' },
    { x: [4, 14, 14, 32], k: 2, s: 2, pad: 'valid' },
    { x: [4, 7, 7, 32], k: 3, s: 2, pad: 'valid' },
    // Overlapping windows, padding, odd sizes, non-square.
    { x: [2, 7, 7, 4], k: 3, s: 2, pad: 'same' },
    { x: [3, 5, 5, 8], k: 3, s: 1, pad: 'same' },
    { x: [1, 9, 6, 12], k: [2, 3], s: [1, 2], pad: 'valid' },
    { x: [2, 11, 13, 4], k: [3, 2], s: [2, 1], pad: 'same' },
    { x: [1, 4, 4, 4], k: 4, s: 1, pad: 'same' },
    { x: [1, 3, 5, 16], k: 5, s: 3, pad: 'same' },
    // Channels not a multiple of 4: the JS fallback.
    { x: [2, 7, 7, 3], k: 3, s: 2, pad: 'same' },
  ];
  for (const [i, c] of configs.entries()) {
    it(`x=${c.x} k=${c.k} s=${c.s} ${c.pad}`, () => {
      check(c.x, c.k, c.s, c.pad, 100 + i, false);
      check(c.x, c.k, c.s, c.pad, 200 + i, true);
    });
  }

  it('on random shapes, strides and paddings (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 3 }),
          h: fc.integer({ min: 1, max: 12 }),
          w: fc.integer({ min: 1, max: 12 }),
          c4: fc.integer({ min: 1, max: 5 }),
          kh: fc.integer({ min: 1, max: 4 }),
          kw: fc.integer({ min: 1, max: 4 }),
          sh: fc.integer({ min: 1, max: 3 }),
          sw: fc.integer({ min: 1, max: 3 }),
          same: fc.boolean(),
          specials: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (r) => {
          const pad = r.same ? 'same' : 'valid';
          if (!r.same && (r.kh > r.h || r.kw > r.w)) return;
          check([r.n, r.h, r.w, 4 * r.c4], [r.kh, r.kw], [r.sh, r.sw], pad, r.seed, r.specials);
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  });
});
