// The Winograd conv kernels, F(2×2, 3×3) and F(4×4, 3×3) (src/kernels/conv3x3-winograd.wat), behind wasm's Conv2D
// and the conv filter gradient: outputs and dW against float64 references over a grid of shapes and paddings and on
// random shapes (fast-check), within the first-order error bound of each algorithm; the convs left to the stock
// kernel; gradients through it; the tile size chosen per layer; and installing and removing it.
// vitest.config.ts runs this file on the portable kernels and again on the FMA build (relaxed SIMD): relaxed_madd
// rounds a·b + c once (fused) or twice (unfused, as the portable build), never more, so the bounds below, which count
// roundings, hold for both builds as stated.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeFixes,
  conv2dFilterGradViaSimd,
  installTrainingFixes,
  selectBackend,
  uninstallTrainingFixes,
} from '../src/index.js';
import {
  compileConv3x3Winograd,
  conv3x3WinogradFor,
  setWinogradMaxTile,
  winogradTile,
} from '../src/kernels/conv3x3-winograd.js';
import {
  convPadArbitrary,
  filterGradFloat64,
  gradsOn,
  input,
  itBindsToTheWasmHeap,
  KERNELS_UNDER_TEST,
  quiet,
  randn,
  relErr,
} from './helpers.js';

type Pad = Parameters<typeof tf.conv2d>[3];
type S4 = [number, number, number, number];

/** float32 unit roundoff. */
const U = 2 ** -24;
const WINOGRAD = 'conv2d-winograd';

beforeAll(async () => {
  await selectBackend(['cpu'], { onLog: quiet });
  const s = await selectBackend(['wasm'], { onLog: quiet, kernels: KERNELS_UNDER_TEST.kernels });
  expect(s.capabilities.simd).toBe(true);
  expect(s.kernels, 'the kernel build under test').toBe(KERNELS_UNDER_TEST.build);
  expect(s.fixes).toContain(WINOGRAD);
});

afterAll(() => {
  installTrainingFixes('wasm');
});

interface Reference {
  value: Float64Array;
  /** Per output, the rounding error bound of the Winograd algorithm that computes it (see `winogradBound`). */
  bound: Float64Array;
  /** The same for a direct conv: 2 · 9C · u · Σ |x·w|, to report how much looser the Winograd bound is. */
  direct: Float64Array;
}

/** The transform matrices of F(2×2, 3×3) and F(4×4, 3×3), by output tile edge. */
const MATRICES = {
  2: {
    BT: [
      [1, 0, -1, 0],
      [0, 1, 1, 0],
      [0, -1, 1, 0],
      [0, 1, 0, -1],
    ],
    G: [
      [1, 0, 0],
      [0.5, 0.5, 0.5],
      [0.5, -0.5, 0.5],
      [0, 0, 1],
    ],
    AT: [
      [1, 1, 1, 0],
      [0, 1, -1, -1],
    ],
  },
  4: {
    BT: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    G: [
      [1 / 4, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1],
    ],
    AT: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 0],
      [0, 1, 1, 4, 4, 0],
      [0, 1, -1, 8, -8, 1],
    ],
  },
} as const;

/** |M| X |N|ᵀ for a row-major X of rows × cols (|·|: elementwise absolute values). */
function absSandwich(
  m: readonly (readonly number[])[],
  x: Float64Array,
  cols: number,
  n: readonly (readonly number[])[],
) {
  const rows = x.length / cols;
  const mid = new Float64Array(m.length * cols);
  for (let i = 0; i < m.length; i++)
    for (let k = 0; k < rows; k++)
      for (let j = 0; j < cols; j++) mid[i * cols + j]! += Math.abs(m[i]![k]!) * x[k * cols + j]!;
  const out = new Float64Array(m.length * n.length);
  for (let i = 0; i < m.length; i++)
    for (let j = 0; j < n.length; j++)
      for (let k = 0; k < cols; k++) out[i * n.length + j]! += mid[i * cols + k]! * Math.abs(n[j]![k]!);
  return out;
}

/**
 * Per output of a tile, the first-order float32 error bound of Winograd's algorithm: 2 (C + 20) u times
 * |Aᵀ| [Σ over ci of (|G| |g| |G|ᵀ) ⊙ (|Bᵀ| |d| |B|)] |A|, the computation with every coefficient and value taken
 * in absolute value. Each transformed value and product carries its rounding relative to that, and the sums over
 * C input channels and the transforms' few terms add at most C + 20 roundings.
 */
function winogradBound(x: Float32Array, xs: S4, w: Float32Array, ws: S4, pad: Pad): Float64Array {
  const info = tf.backend_util.computeConv2DInfo(xs, ws, 1, 1, pad);
  const tile = winogradTile(info);
  const { BT, G, AT } = MATRICES[tile];
  const a = tile + 2;
  const [N, H, W, C] = xs;
  const CO = ws[3];
  const { outHeight: OH, outWidth: OW } = info;
  const { top, left } = info.padInfo;
  // |U| per (ci, co): a × a.
  const uAbs: Float64Array[] = [];
  for (let ci = 0; ci < C; ci++)
    for (let co = 0; co < CO; co++) {
      const g = new Float64Array(9);
      for (let t = 0; t < 9; t++) g[t] = Math.abs(w[(t * C + ci) * CO + co]!);
      uAbs.push(absSandwich(G, g, 3, G));
    }
  const bound = new Float64Array(N * OH * OW * CO);
  for (let n = 0; n < N; n++)
    for (let ty = 0; ty < OH; ty += tile)
      for (let tx = 0; tx < OW; tx += tile) {
        const vAbs: Float64Array[] = [];
        for (let ci = 0; ci < C; ci++) {
          const d = new Float64Array(a * a);
          for (let i = 0; i < a; i++)
            for (let j = 0; j < a; j++) {
              const r = ty + i - top;
              const c = tx + j - left;
              if (r >= 0 && r < H && c >= 0 && c < W)
                d[i * a + j] = Math.abs(x[((n * H + r) * W + c) * C + ci]!);
            }
          vAbs.push(absSandwich(BT, d, a, BT));
        }
        for (let co = 0; co < CO; co++) {
          const sum = new Float64Array(a * a);
          for (let ci = 0; ci < C; ci++) {
            const u = uAbs[ci * CO + co]!;
            const v = vAbs[ci]!;
            for (let k = 0; k < a * a; k++) sum[k]! += u[k]! * v[k]!;
          }
          const y = absSandwich(AT, sum, a, AT);
          for (let i = 0; i < tile && ty + i < OH; i++)
            for (let j = 0; j < tile && tx + j < OW; j++)
              bound[((n * OH + ty + i) * OW + tx + j) * CO + co] =
                2 * (C + 20) * U * y[i * tile + j]! + 1e-30;
        }
      }
  return bound;
}

function reference(x: Float32Array, xs: S4, w: Float32Array, ws: S4, pad: Pad): Reference {
  const info = tf.backend_util.computeConv2DInfo(xs, ws, 1, 1, pad);
  const [N, H, W, C] = xs;
  const CO = ws[3];
  const { outHeight: OH, outWidth: OW } = info;
  const { top, left } = info.padInfo;
  const at = (n: number, r: number, c: number, ci: number) =>
    r < 0 || r >= H || c < 0 || c >= W ? 0 : x[((n * H + r) * W + c) * C + ci]!;
  const value = new Float64Array(N * OH * OW * CO);
  const direct = new Float64Array(value.length);
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const out = ((n * OH + oh) * OW + ow) * CO;
        for (let kh = 0; kh < 3; kh++)
          for (let kw = 0; kw < 3; kw++)
            for (let ci = 0; ci < C; ci++) {
              const xv = at(n, oh + kh - top, ow + kw - left, ci);
              const wBase = ((kh * 3 + kw) * C + ci) * CO;
              for (let co = 0; co < CO; co++) {
                const p = xv * w[wBase + co]!;
                value[out + co]! += p;
                direct[out + co]! += Math.abs(p);
              }
            }
        for (let co = 0; co < CO; co++) direct[out + co] = 2 * 9 * C * U * direct[out + co]! + 1e-30;
      }
  return { value, bound: winogradBound(x, xs, w, ws, pad), direct };
}

/** Worst error as a share of the Winograd bound (≤ 1 passes) and of a direct conv's bound (reported). */
function check(got: ArrayLike<number>, ref: Reference): { worst: number; direct: number; rel: number } {
  let worst = got.length === ref.value.length ? 0 : Number.POSITIVE_INFINITY;
  let direct = 0;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.value.length; i++) {
    const e = Math.abs(got[i]! - ref.value[i]!);
    worst = Math.max(worst, Number.isNaN(e) ? Number.POSITIVE_INFINITY : e / ref.bound[i]!);
    direct = Math.max(direct, e / ref.direct[i]!);
    diff = Math.max(diff, e);
    scale = Math.max(scale, Math.abs(ref.value[i]!));
  }
  return { worst, direct, rel: scale === 0 ? diff : diff / scale };
}

/** conv2d on the active backend, read back, with the kernels it ran. */
async function conv(x: Float32Array, xs: S4, w: Float32Array, ws: S4, pad: Pad) {
  const xt = tf.tensor4d(x, xs);
  const wt = tf.tensor4d(w, ws);
  let y: tf.Tensor | undefined;
  const info = await tf.profile(() => {
    y = tf.conv2d(xt, wt, 1, pad);
    return y;
  });
  const values = Float32Array.from((await y!.data()) as Float32Array);
  tf.dispose([xt, wt, y!]);
  return { values, kernels: info.kernelNames };
}

const explicit: Pad = [
  [0, 0],
  [2, 0],
  [1, 2],
  [0, 0],
];
const PADS: Array<[string, Pad]> = [
  ['same', 'same'],
  ['valid', 'valid'],
  ['explicit [2,0]x[1,2]', explicit],
  ['numeric 2', 2],
];

/** Small convs over every padding, with odd and even sizes, for each input channel count in `cis`. */
function smallShapes(cis: number[]): Array<{ name: string; xs: S4; co: number; pad: Pad }> {
  const out: Array<{ name: string; xs: S4; co: number; pad: Pad }> = [];
  for (const batch of [1, 3])
    for (const [h, w] of [
      [5, 7],
      [4, 4],
      [2, 9],
    ] as const)
      for (const [padName, pad] of PADS)
        for (const ci of cis)
          for (const co of [4, 12, 32, 20])
            out.push({ name: `b${batch} ${h}x${w} ${padName} ${ci}->${co}`, xs: [batch, h, w, ci], co, pad });
  return out;
}

/** Random convs the Winograd kernel applies to: 3×3, channels multiples of 4, any padding, output at least 2×2. */
const winogradShapes = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 11 }),
    w: fc.integer({ min: 1, max: 11 }),
    ci: fc.integer({ min: 1, max: 10 }).map((k) => 4 * k),
    co: fc.integer({ min: 1, max: 10 }).map((k) => 4 * k),
    pad: convPadArbitrary(3),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  })
  .filter((s) => {
    const info = tf.backend_util.computeConv2DInfo([s.n, s.h, s.w, s.ci], [3, 3, s.ci, s.co], 1, 1, s.pad);
    return info.outHeight >= 2 && info.outWidth >= 2;
  });

/** How far above a direct conv's worst-case bound F(4×4, 3×3) may land on the tests' random inputs. */
const DIRECT_FACTOR_F4 = 8;

describe('Winograd conv vs a float64 reference', () => {
  const stats = {
    2: { cases: 0, worst: 0, direct: 0, rel: 0 },
    4: { cases: 0, worst: 0, direct: 0, rel: 0 },
  };
  afterAll(() => {
    for (const tile of [2, 4] as const) {
      const t = stats[tile];
      console.info(
        `Winograd conv F(${tile}x${tile}, 3x3): ${t.cases} cases, max error ${(t.worst * 100).toFixed(2)}% of its ` +
          `bound, ${t.direct.toFixed(2)}x the float32 bound of a direct conv, max |error| / max |y| = ` +
          t.rel.toExponential(2),
      );
    }
  });

  const grid: Array<{ name: string; xs: S4; ws: S4; pad: Pad }> = smallShapes([4, 8, 36]).map((c) => ({
    name: c.name,
    xs: c.xs,
    ws: [3, 3, c.xs[3], c.co],
    pad: c.pad,
  }));
  // The reference CNN's layers, and enough tiles for several blocks.
  grid.push(
    { name: 'b2 28x28 same 32->32', xs: [2, 28, 28, 32], ws: [3, 3, 32, 32], pad: 'same' },
    { name: 'b5 14x14 same 32->32', xs: [5, 14, 14, 32], ws: [3, 3, 32, 32], pad: 'same' },
    { name: 'b7 7x7 same 32->32', xs: [7, 7, 7, 32], ws: [3, 3, 32, 32], pad: 'same' },
    { name: 'b2 29x27 same 64->16', xs: [2, 29, 27, 64], ws: [3, 3, 64, 16], pad: 'same' },
    // F(4×4, 3×3) with partial tiles at the right and bottom, and border tiles on every side.
    { name: 'b1 9x11 same 8->12', xs: [1, 9, 11, 8], ws: [3, 3, 8, 12], pad: 'same' },
    { name: 'b2 6x6 same 4->4', xs: [2, 6, 6, 4], ws: [3, 3, 4, 4], pad: 'same' },
    { name: 'b1 8x13 explicit 12->8', xs: [1, 8, 13, 12], ws: [3, 3, 12, 8], pad: explicit },
  );

  it.each(grid.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    await tf.setBackend('wasm');
    const ys = tf.backend_util.computeConv2DInfo(c.xs, c.ws, 1, 1, c.pad);
    if (ys.outHeight < 2 || ys.outWidth < 2) return;
    const x = randn(c.xs, 1000 + i);
    const w = randn(c.ws, 2000 + i, 1 / Math.sqrt(9 * c.xs[3]));
    const got = await conv(x, c.xs, w, c.ws, c.pad);
    expect(got.kernels).toEqual(['Conv2D']);
    const r = check(got.values, reference(x, c.xs, w, c.ws, c.pad));
    const tile = winogradTile(tf.backend_util.computeConv2DInfo(c.xs, c.ws, 1, 1, c.pad));
    const t = stats[tile];
    t.cases++;
    t.worst = Math.max(t.worst, r.worst);
    t.direct = Math.max(t.direct, r.direct);
    t.rel = Math.max(t.rel, r.rel);
    expect(r.worst, 'error / bound').toBeLessThanOrEqual(1);
    // On these random inputs F(2×2, 3×3) is as accurate as a direct conv (within its worst case, doubled), and
    // F(4×4, 3×3) within DIRECT_FACTOR_F4 of it; not theorems, but a regression in the transforms' rounding
    // would show here long before the bound above.
    expect(r.direct, 'error / direct conv bound').toBeLessThanOrEqual(tile === 2 ? 2 : DIRECT_FACTOR_F4);
  });

  it('random shapes and paddings (fast-check)', async () => {
    await tf.setBackend('wasm');
    await fc.assert(
      fc.asyncProperty(winogradShapes, async (s) => {
        const xs: S4 = [s.n, s.h, s.w, s.ci];
        const ws: S4 = [3, 3, s.ci, s.co];
        const x = randn(xs, s.seed);
        const w = randn(ws, s.seed + 1, 1 / Math.sqrt(9 * s.ci));
        const got = await conv(x, xs, w, ws, s.pad);
        expect(check(got.values, reference(x, xs, w, ws, s.pad)).worst).toBeLessThanOrEqual(1);
      }),
      { numRuns: 120, seed: 20261125 },
    );
  });

  it('the reference check fails on a wrong output (it can fail)', () => {
    const xs: S4 = [1, 5, 7, 4];
    const ws: S4 = [3, 3, 4, 4];
    const x = randn(xs, 5);
    const w = randn(ws, 6, 0.2);
    const ref = reference(x, xs, w, ws, 'same');
    const wrong = Float32Array.from(ref.value);
    // One product missing from one output.
    wrong[9]! -= x[0]! * w[4 * 16 + 1]!;
    expect(check(Float32Array.from(ref.value), ref).worst).toBeLessThanOrEqual(1);
    expect(check(wrong, ref).worst).toBeGreaterThan(1);
  });
});

/** The transpose of a small matrix. */
function transpose(m: readonly (readonly number[])[]): number[][] {
  return m[0]!.map((_, j) => m.map((row) => row[j]!));
}

/**
 * dW of a 3×3 conv in float64, with its error bounds: for the Winograd kernel, 2 (tiles + 20) u times
 * |Gᵀ| [Σ over tiles of (|A| |dY| |A|ᵀ) ⊙ (|Bᵀ| |d| |B|)] |G|, the adjoint computed in absolute values (its sums run
 * over all tiles); for a direct sum, 2 · terms · u · Σ |x·dy| (terms = N·OH·OW products per element).
 */
function filterGradReference(x: Float32Array, xs: S4, dy: Float32Array, CO: number, pad: Pad): Reference {
  const ws: S4 = [3, 3, xs[3], CO];
  const info = tf.backend_util.computeConv2DInfo(xs, ws, 1, 1, pad);
  const [N, H, W, C] = xs;
  const { outHeight: OH, outWidth: OW } = info;
  const { top, left } = info.padInfo;
  const at = (n: number, r: number, c: number, ci: number) =>
    r < 0 || r >= H || c < 0 || c >= W ? 0 : x[((n * H + r) * W + c) * C + ci]!;
  const { value, abs, terms } = filterGradFloat64(x, xs, dy, ws, pad);
  const direct = abs.map((a) => 2 * terms * U * a + 1e-30);
  const tile = winogradTile(info);
  const { BT, G, AT } = MATRICES[tile];
  const A = transpose(AT);
  const GT = transpose(G);
  const a = tile + 2;
  const z = Array.from({ length: C * CO }, () => new Float64Array(a * a));
  let tiles = 0;
  for (let n = 0; n < N; n++)
    for (let ty = 0; ty < OH; ty += tile)
      for (let tx = 0; tx < OW; tx += tile) {
        tiles++;
        const v = Array.from({ length: C }, (_, ci) => {
          const d = new Float64Array(a * a);
          for (let i = 0; i < a; i++)
            for (let j = 0; j < a; j++) d[i * a + j] = Math.abs(at(n, ty + i - top, tx + j - left, ci));
          return absSandwich(BT, d, a, BT);
        });
        for (let co = 0; co < CO; co++) {
          const q = new Float64Array(tile * tile);
          for (let i = 0; i < tile && ty + i < OH; i++)
            for (let j = 0; j < tile && tx + j < OW; j++)
              q[i * tile + j] = Math.abs(dy[((n * OH + ty + i) * OW + tx + j) * CO + co]!);
          const yh = absSandwich(A, q, tile, A);
          for (let ci = 0; ci < C; ci++) {
            const acc = z[ci * CO + co]!;
            const vc = v[ci]!;
            for (let k = 0; k < a * a; k++) acc[k]! += yh[k]! * vc[k]!;
          }
        }
      }
  const bound = new Float64Array(value.length);
  for (let e = 0; e < C * CO; e++) {
    const dw = absSandwich(GT, z[e]!, a, GT);
    for (let t = 0; t < 9; t++) bound[t * C * CO + e] = 2 * (tiles + 20) * U * dw[t]! + 1e-30;
  }
  return { value, bound, direct };
}

describe('Winograd filter gradient vs a float64 reference', () => {
  const stats = { cases: 0, worst: 0, rel: 0 };
  afterAll(() => {
    console.info(
      `Winograd dW: ${stats.cases} cases, max error ${(stats.worst * 100).toFixed(2)}% of its bound, ` +
        `max |error| / max |dW| = ${stats.rel.toExponential(2)}`,
    );
  });

  /** dW by the installed filter gradient on wasm, read back, with the kernels it ran. */
  async function filterGrad(x: Float32Array, xs: S4, dy: Float32Array, CO: number, pad: Pad) {
    await tf.setBackend('wasm');
    const info = tf.backend_util.computeConv2DInfo(xs, [3, 3, xs[3], CO], 1, 1, pad);
    const xt = tf.tensor4d(x, xs);
    const dyt = tf.tensor4d(dy, [xs[0], info.outHeight, info.outWidth, CO]);
    let dw: tf.Tensor | null = null;
    const prof = await tf.profile(() => {
      dw = conv2dFilterGradViaSimd(xt, dyt, [3, 3, xs[3], CO], 1, pad);
      return dw ?? [];
    });
    const values = Float32Array.from((await dw!.data()) as Float32Array);
    tf.dispose([xt, dyt, dw!]);
    return { values, kernels: prof.kernelNames };
  }

  const grid = smallShapes([4, 36]);
  grid.push(
    { name: 'b2 28x28 same 32->32', xs: [2, 28, 28, 32], co: 32, pad: 'same' },
    { name: 'b5 14x14 same 32->32', xs: [5, 14, 14, 32], co: 32, pad: 'same' },
    { name: 'b7 7x7 same 32->32', xs: [7, 7, 7, 32], co: 32, pad: 'same' },
    { name: 'b2 29x27 same 64->16', xs: [2, 29, 27, 64], co: 16, pad: 'same' },
  );

  it.each(grid.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const info = tf.backend_util.computeConv2DInfo(c.xs, [3, 3, c.xs[3], c.co], 1, 1, c.pad);
    if (info.outHeight < 2 || info.outWidth < 2) return;
    const x = randn(c.xs, 4000 + i);
    const dy = randn([c.xs[0], info.outHeight, info.outWidth, c.co], 5000 + i);
    const got = await filterGrad(x, c.xs, dy, c.co, c.pad);
    expect(got.kernels).toEqual(['Conv2DFilterGradWinograd']);
    const r = check(got.values, filterGradReference(x, c.xs, dy, c.co, c.pad));
    stats.cases++;
    stats.worst = Math.max(stats.worst, r.worst);
    stats.rel = Math.max(stats.rel, r.rel);
    // No check against a direct sum's bound here: a tap that never meets the image (all padding) is exactly 0
    // in a direct sum, and the Winograd form gets it by cancellation, to within rounding.
    expect(r.worst, 'error / bound').toBeLessThanOrEqual(1);
  });

  it('random shapes and paddings (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(winogradShapes, async (s) => {
        const xs: S4 = [s.n, s.h, s.w, s.ci];
        const info = tf.backend_util.computeConv2DInfo(xs, [3, 3, s.ci, s.co], 1, 1, s.pad);
        const x = randn(xs, s.seed);
        const dy = randn([s.n, info.outHeight, info.outWidth, s.co], s.seed + 1);
        const got = await filterGrad(x, xs, dy, s.co, s.pad);
        expect(check(got.values, filterGradReference(x, xs, dy, s.co, s.pad)).worst).toBeLessThanOrEqual(1);
      }),
      { numRuns: 120, seed: 20261126 },
    );
  });

  it('is not used for other filters or with the fix removed', async () => {
    const x = randn([2, 6, 6, 4], 1);
    const dy = randn([2, 6, 6, 8], 2);
    uninstallTrainingFixes('wasm', [WINOGRAD]);
    const without = await filterGrad(x, [2, 6, 6, 4], dy, 8, 'same');
    installTrainingFixes('wasm');
    expect(without.kernels).toEqual(['Conv2DFilterGradSimd']);
    const x1 = randn([2, 6, 6, 1], 3);
    await tf.setBackend('wasm');
    const names = (
      await tf.profile(
        () =>
          conv2dFilterGradViaSimd(
            tf.tensor4d(x1, [2, 6, 6, 1]),
            tf.tensor4d(dy, [2, 6, 6, 8]),
            [3, 3, 1, 8],
            1,
            'same',
          )!,
      )
    ).kernelNames;
    expect(names).toContain('Conv2DFilterGradSimd');
    expect(names).not.toContain('Conv2DFilterGradWinograd');
  });
});

describe('where the Winograd kernel applies', () => {
  const cases: Array<{ name: string; xs: S4; ws: S4; strides: number; pad: Pad }> = [
    {
      name: '1 input channel (the first layer)',
      xs: [2, 8, 8, 1],
      ws: [3, 3, 1, 8],
      strides: 1,
      pad: 'same',
    },
    { name: '6 output channels', xs: [2, 8, 8, 4], ws: [3, 3, 4, 6], strides: 1, pad: 'same' },
    { name: 'stride 2', xs: [2, 8, 8, 4], ws: [3, 3, 4, 8], strides: 2, pad: 'same' },
    { name: '5x5 filter', xs: [2, 8, 8, 4], ws: [5, 5, 4, 8], strides: 1, pad: 'same' },
    { name: '1x1 output', xs: [2, 3, 3, 4], ws: [3, 3, 4, 8], strides: 1, pad: 'valid' },
  ];
  it.each(cases.map((c) => [c.name, c] as const))(
    'leaves %s to the stock kernel, bit for bit',
    async (_n, c) => {
      await tf.setBackend('wasm');
      const x = randn(c.xs, 11);
      const w = randn(c.ws, 12, 0.3);
      const run = () =>
        tf.tidy(() =>
          tf.conv2d(tf.tensor4d(x, c.xs), tf.tensor4d(w, c.ws), c.strides, c.pad).dataSync().slice(),
        );
      const fixed = run();
      uninstallTrainingFixes('wasm', [WINOGRAD]);
      const stock = run();
      installTrainingFixes('wasm');
      expect(fixed).toEqual(stock);
    },
  );

  it('changes the output of the convs it applies to (it is in use) and stays within 1e-5 of stock', async () => {
    await tf.setBackend('wasm');
    const xs: S4 = [2, 14, 14, 32];
    const ws: S4 = [3, 3, 32, 32];
    const x = randn(xs, 21);
    const w = randn(ws, 22, 1 / Math.sqrt(9 * 32));
    const run = () =>
      tf.tidy(() => tf.conv2d(tf.tensor4d(x, xs), tf.tensor4d(w, ws), 1, 'same').dataSync().slice());
    const fixed = run();
    uninstallTrainingFixes('wasm', [WINOGRAD]);
    expect(activeFixes('wasm')).not.toContain(WINOGRAD);
    const stock = run();
    installTrainingFixes('wasm');
    expect(activeFixes('wasm')).toContain(WINOGRAD);
    expect(fixed).not.toEqual(stock);
    expect(relErr(fixed, stock)).toBeLessThan(1e-5);
  });

  itBindsToTheWasmHeap({ compile: compileConv3x3Winograd, bind: conv3x3WinogradFor });

  it('frees its scratch memory (no tensors or wasm bytes left behind)', async () => {
    await tf.setBackend('wasm');
    const xs: S4 = [2, 14, 14, 32];
    const x = tf.tensor4d(randn(xs, 31), xs);
    const w = tf.tensor4d(randn([3, 3, 32, 32], 32, 0.05), [3, 3, 32, 32]);
    tf.conv2d(x, w, 1, 'same').dispose();
    const before = tf.memory();
    for (let i = 0; i < 3; i++) tf.conv2d(x, w, 1, 'same').dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    tf.dispose([x, w]);
  });
});

describe('conv2d gradients through the Winograd kernel, vs cpu stock', () => {
  const cases: Array<{ name: string; x: S4; w: S4; pad: Pad }> = [
    { name: '32->32 14x14 same, batch 2', x: [2, 14, 14, 32], w: [3, 3, 32, 32], pad: 'same' },
    { name: '8->12 7x5 explicit, batch 3', x: [3, 7, 5, 8], w: [3, 3, 8, 12], pad: explicit },
    { name: '4->8 9x9 valid, batch 1', x: [1, 9, 9, 4], w: [3, 3, 4, 8], pad: 'valid' },
  ];
  it.each(cases.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    installTrainingFixes('wasm');
    uninstallTrainingFixes('cpu');
    const ys = tf.backend_util.computeConv2DInfo(c.x, c.w, 1, 1, c.pad);
    const ysh = [c.x[0], ys.outHeight, ys.outWidth, c.w[3]];
    const f = (x: tf.Tensor, w: tf.Tensor, r: tf.Tensor) =>
      tf.sum(tf.mul(r, tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, c.pad)));
    const inputs = [
      input(c.x, randn(c.x, 3000 + i)),
      input(c.w, randn(c.w, 3100 + i, 1 / Math.sqrt(9 * c.w[2]))),
      input(ysh, randn(ysh, 3200 + i)),
    ];
    const cpu = await gradsOn('cpu', f, inputs);
    const wasm = await gradsOn('wasm', f, inputs);
    expect(relErr(cpu[0]!, wasm[0]!), 'dx').toBeLessThan(1e-5);
    expect(relErr(cpu[1]!, wasm[1]!), 'dW').toBeLessThan(1e-5);
  });
});

describe('the Winograd tile size', () => {
  const info = (hw: number) =>
    tf.backend_util.computeConv2DInfo([32, hw, hw, 32], [3, 3, 32, 32], 1, 1, 'same');
  it('is 4 for the reference CNN layers of 7x7 and more, 2 for 3x3, and 2 everywhere when restricted', () => {
    expect([28, 14, 7, 3].map((hw) => winogradTile(info(hw)))).toEqual([4, 4, 4, 2]);
    setWinogradMaxTile(2);
    try {
      expect([28, 14, 7, 3].map((hw) => winogradTile(info(hw)))).toEqual([2, 2, 2, 2]);
    } finally {
      setWinogradMaxTile(4);
    }
    expect(() => setWinogradMaxTile(3 as 2)).toThrow(/2 or 4/);
  });

  it('F(2x2) alone gives the same outputs within 1e-5 (both tile sizes compute the same conv)', async () => {
    await tf.setBackend('wasm');
    const xs: S4 = [2, 28, 28, 32];
    const x = randn(xs, 41);
    const w = randn([3, 3, 32, 32], 42, 1 / Math.sqrt(9 * 32));
    const run = () =>
      tf.tidy(() =>
        tf
          .conv2d(tf.tensor4d(x, xs), tf.tensor4d(w, [3, 3, 32, 32]), 1, 'same')
          .dataSync()
          .slice(),
      );
    const f4 = run();
    setWinogradMaxTile(2);
    const f2 = run();
    setWinogradMaxTile(4);
    expect(f4).not.toEqual(f2);
    expect(relErr(f4, f2)).toBeLessThan(1e-5);
  });
});
