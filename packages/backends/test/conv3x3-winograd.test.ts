// The Winograd F(2×2, 3×3) conv kernel (src/fixes/conv3x3-winograd.wat) behind wasm's Conv2D: its output against a
// float64 reference over a grid of shapes and paddings and on random shapes (fast-check), within an error bound for
// its transforms; the convs it leaves to the stock kernel; gradients through it; and installing and removing it.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConv3x3Winograd, conv3x3WinogradFor } from '../src/fixes/conv3x3-winograd.js';
import {
  activeFixes,
  conv2dFilterGradViaSimd,
  installTrainingFixes,
  selectBackend,
  uninstallTrainingFixes,
} from '../src/index.js';
import { gradsOn, input, quiet, randn, relErr } from './helpers.js';

type Pad = Parameters<typeof tf.conv2d>[3];
type S4 = [number, number, number, number];

/** float32 unit roundoff. */
const U = 2 ** -24;
const WINOGRAD = 'conv2d-winograd';

beforeAll(async () => {
  await selectBackend(['cpu'], { onLog: quiet });
  const s = await selectBackend(['wasm'], { onLog: quiet });
  expect(s.capabilities.simd).toBe(true);
  expect(s.fixes).toContain(WINOGRAD);
});

afterAll(() => {
  installTrainingFixes('wasm');
});

interface Reference {
  value: Float64Array;
  /**
   * Per output, the scale of the Winograd kernel's rounding error: 16 (C + 16) u · Σ over ci of (Σ |x| over the
   * output's 4×4 input tile) · (Σ |w| over the 3×3 taps). Every transform coefficient is at most 1 in magnitude and
   * each of the 16 positions adds one product of transformed values, whose rounding grows with the C-term sum.
   */
  bound: Float64Array;
  /** The same for a direct conv: 2 · 9C · u · Σ |x·w|, to report how much looser the Winograd bound is. */
  direct: Float64Array;
}

function reference(x: Float32Array, xs: S4, w: Float32Array, ws: S4, pad: Pad): Reference {
  const info = tf.backend_util.computeConv2DInfo(xs, ws, 1, 1, pad);
  const [N, H, W, C] = xs;
  const CO = ws[3];
  const { outHeight: OH, outWidth: OW } = info;
  const { top, left } = info.padInfo;
  const at = (n: number, r: number, c: number, ci: number) =>
    r < 0 || r >= H || c < 0 || c >= W ? 0 : x[((n * H + r) * W + c) * C + ci]!;
  const wAbs = new Float64Array(C * CO);
  for (let t = 0; t < 9; t++) for (let i = 0; i < C * CO; i++) wAbs[i]! += Math.abs(w[t * C * CO + i]!);
  const value = new Float64Array(N * OH * OW * CO);
  const bound = new Float64Array(value.length);
  const direct = new Float64Array(value.length);
  const tileAbs = new Float64Array(C);
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const out = ((n * OH + oh) * OW + ow) * CO;
        // The 4×4 input tile of the 2×2 output tile holding (oh, ow).
        const r0 = oh - (oh % 2) - top;
        const c0 = ow - (ow % 2) - left;
        tileAbs.fill(0);
        for (let i = 0; i < 4; i++)
          for (let j = 0; j < 4; j++)
            for (let ci = 0; ci < C; ci++) tileAbs[ci]! += Math.abs(at(n, r0 + i, c0 + j, ci));
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
        for (let co = 0; co < CO; co++) {
          let s = 0;
          for (let ci = 0; ci < C; ci++) s += tileAbs[ci]! * wAbs[ci * CO + co]!;
          bound[out + co] = 16 * (C + 16) * U * s + 1e-30;
          direct[out + co] = 2 * 9 * C * U * direct[out + co]! + 1e-30;
        }
      }
  return { value, bound, direct };
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
const side = fc.integer({ min: 0, max: 3 });
const winogradShapes = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 11 }),
    w: fc.integer({ min: 1, max: 11 }),
    ci: fc.integer({ min: 1, max: 10 }).map((k) => 4 * k),
    co: fc.integer({ min: 1, max: 10 }).map((k) => 4 * k),
    pad: fc.oneof(
      fc.constantFrom<Pad>('same', 'valid'),
      fc.integer({ min: 0, max: 3 }),
      fc.tuple(side, side, side, side).map(
        ([t, b, l, r]): Pad => [
          [0, 0],
          [t, b],
          [l, r],
          [0, 0],
        ],
      ),
    ),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  })
  .filter((s) => {
    const info = tf.backend_util.computeConv2DInfo([s.n, s.h, s.w, s.ci], [3, 3, s.ci, s.co], 1, 1, s.pad);
    return info.outHeight >= 2 && info.outWidth >= 2;
  });

describe('Winograd conv vs a float64 reference', () => {
  const stats = { cases: 0, worst: 0, direct: 0, rel: 0 };
  afterAll(() => {
    console.info(
      `Winograd conv: ${stats.cases} cases, max error ${(stats.worst * 100).toFixed(2)}% of its bound, ` +
        `${stats.direct.toFixed(2)}x the float32 bound of a direct conv, max |error| / max |y| = ` +
        stats.rel.toExponential(2),
    );
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
    stats.cases++;
    stats.worst = Math.max(stats.worst, r.worst);
    stats.direct = Math.max(stats.direct, r.direct);
    stats.rel = Math.max(stats.rel, r.rel);
    expect(r.worst, 'error / bound').toBeLessThanOrEqual(1);
    // On these random inputs the error is also that of a direct conv (its worst case, doubled); not a theorem,
    // but a regression in the transforms' rounding would show here long before the bound above.
    expect(r.direct, 'error / direct conv bound').toBeLessThanOrEqual(2);
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

/**
 * dW of a 3×3 conv in float64, with its error scales: for the Winograd kernel 16 (terms + 16) u · Σ over 2×2 output
 * tiles of (Σ |x| over the tile's 4×4 inputs) · (Σ |dy| over the tile), and for a direct sum 2 · terms · u · Σ |x·dy|
 * (terms = N·OH·OW products per element).
 */
function filterGradReference(x: Float32Array, xs: S4, dy: Float32Array, CO: number, pad: Pad): Reference {
  const info = tf.backend_util.computeConv2DInfo(xs, [3, 3, xs[3], CO], 1, 1, pad);
  const [N, H, W, C] = xs;
  const { outHeight: OH, outWidth: OW } = info;
  const { top, left } = info.padInfo;
  const terms = N * OH * OW;
  const at = (n: number, r: number, c: number, ci: number) =>
    r < 0 || r >= H || c < 0 || c >= W ? 0 : x[((n * H + r) * W + c) * C + ci]!;
  const value = new Float64Array(9 * C * CO);
  const direct = new Float64Array(value.length);
  const tiles = new Float64Array(C * CO);
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const d = ((n * OH + oh) * OW + ow) * CO;
        for (let t = 0; t < 9; t++)
          for (let ci = 0; ci < C; ci++) {
            const xv = at(n, oh + Math.floor(t / 3) - top, ow + (t % 3) - left, ci);
            for (let co = 0; co < CO; co++) {
              const p = xv * dy[d + co]!;
              value[(t * C + ci) * CO + co]! += p;
              direct[(t * C + ci) * CO + co]! += Math.abs(p);
            }
          }
      }
  for (let n = 0; n < N; n++)
    for (let ty = 0; ty < OH; ty += 2)
      for (let tx = 0; tx < OW; tx += 2) {
        const xa = new Float64Array(C);
        const ya = new Float64Array(CO);
        for (let i = 0; i < 4; i++)
          for (let j = 0; j < 4; j++)
            for (let ci = 0; ci < C; ci++) xa[ci]! += Math.abs(at(n, ty + i - top, tx + j - left, ci));
        for (let i = 0; i < 2 && ty + i < OH; i++)
          for (let j = 0; j < 2 && tx + j < OW; j++)
            for (let co = 0; co < CO; co++)
              ya[co]! += Math.abs(dy[((n * OH + ty + i) * OW + tx + j) * CO + co]!);
        for (let ci = 0; ci < C; ci++)
          for (let co = 0; co < CO; co++) tiles[ci * CO + co]! += xa[ci]! * ya[co]!;
      }
  const bound = new Float64Array(value.length);
  for (let i = 0; i < value.length; i++) {
    bound[i] = 16 * (terms + 16) * U * tiles[i % (C * CO)]! + 1e-30;
    direct[i] = 2 * terms * U * direct[i]! + 1e-30;
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
    expect(got.kernels).toEqual(['GradsignConv2DFilterGradWinograd']);
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
    expect(without.kernels).toEqual(['GradsignConv2DFilterGradSimd']);
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
    expect(names).toContain('GradsignConv2DFilterGradSimd');
    expect(names).not.toContain('GradsignConv2DFilterGradWinograd');
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

  it('is null for a backend whose wasm memory it cannot reach', () => {
    const fake = { makeOutput: () => ({}), typedArrayFromHeap: () => new Float32Array(0), wasm: {} };
    expect(conv3x3WinogradFor(fake)).toBeNull();
    expect(conv3x3WinogradFor({})).toBeNull();
  });

  it('links to an ordinary memory (Node, no threads) and a shared one (threaded build in isolated pages)', () => {
    for (const shared of [false, true]) {
      const module = compileConv3x3Winograd(shared);
      expect(module, `shared=${shared}`).not.toBeNull();
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 256, shared });
      expect(() => new WebAssembly.Instance(module!, { env: { memory } })).not.toThrow();
    }
  });

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
