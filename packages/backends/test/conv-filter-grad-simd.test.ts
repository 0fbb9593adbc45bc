// The WebAssembly SIMD conv filter gradient (src/kernels/conv-filter-grad.wat) on the wasm backend: its dW against a
// float64 plain-JS reference over a grid of shapes and paddings and on random shapes (fast-check), within the
// worst-case float32 bound of a sum of that many products; the installed conv2d gradient on wasm against cpu's
// stock kernels; when it applies and when the other forms are used; and that the committed module is current.
// vitest.config.ts runs this file on the portable kernels and again on the FMA build (relaxed SIMD): relaxed_madd
// rounds a·b + c once (fused) or twice (unfused, as the portable build), never more, so the bounds below, which count
// roundings, hold for both builds as stated.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  conv2dFilterGradViaSimd,
  installTrainingFixes,
  selectBackend,
  uninstallTrainingFixes,
} from '../src/index.js';
import { compileConvFilterGrad, convFilterGradSimdFor } from '../src/kernels/conv-filter-grad-simd.js';
import {
  convPadArbitrary,
  type FilterGradReference,
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

beforeAll(async () => {
  await selectBackend(['cpu'], { onLog: quiet });
  const s = await selectBackend(['wasm'], { onLog: quiet, kernels: KERNELS_UNDER_TEST.kernels });
  expect(s.capabilities.simd).toBe(true);
  expect(s.kernels, 'the kernel build under test').toBe(KERNELS_UNDER_TEST.build);
  expect(s.fixes).toContain('conv2d-grad');
});

afterAll(() => {
  installTrainingFixes('wasm');
});

/** The worst case error of any float32 summation order of `terms` products: γ_terms · Σ|x·dy| (doubled). */
function withinBound(
  got: ArrayLike<number>,
  ref: FilterGradReference,
): { ok: boolean; worst: number; rel: number } {
  let worst = 0;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.value.length; i++) {
    const e = Math.abs(got[i]! - ref.value[i]!);
    const bound = 2 * ref.terms * U * ref.abs[i]! + 1e-30;
    worst = Math.max(worst, e / bound);
    diff = Math.max(diff, e);
    scale = Math.max(scale, Math.abs(ref.value[i]!));
  }
  return { ok: worst <= 1 && got.length === ref.value.length, worst, rel: scale === 0 ? diff : diff / scale };
}

/** The SIMD kernel's dW on wasm (null if it declines), read back. */
async function simdDw(x: Float32Array, xs: S4, dy: Float32Array, dys: number[], filter: S4, pad: Pad) {
  await tf.setBackend('wasm');
  const xt = tf.tensor4d(x, xs);
  const dyt = tf.tensor4d(dy, dys as S4);
  const dw = conv2dFilterGradViaSimd(xt, dyt, filter, 1, pad);
  const values = dw == null ? null : ((await dw.data()) as Float32Array);
  tf.dispose([xt, dyt, dw as tf.Tensor]);
  return values;
}

function outShape(xs: S4, filter: S4, pad: Pad): number[] {
  const info = tf.backend_util.computeConv2DInfo(xs, filter, 1, 1, pad);
  return [xs[0], info.outHeight, info.outWidth, filter[3]];
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
  ['numeric 1', 1],
];

describe('SIMD filter gradient vs a float64 reference', () => {
  const stats = { cases: 0, worst: 0, rel: 0 };
  // The direct kernel itself, also for the 3×3 filters that the conv2d-winograd fix gives to the Winograd kernel
  // (tested in conv3x3-winograd.test.ts).
  beforeAll(() => {
    uninstallTrainingFixes('wasm', ['conv2d-winograd']);
  });
  afterAll(() => {
    installTrainingFixes('wasm');
    console.info(
      `SIMD dW grid: ${stats.cases} cases, max error ${(stats.worst * 100).toFixed(2)}% of the float32 bound, ` +
        `max |error| / max |dW| = ${stats.rel.toExponential(2)}`,
    );
  });

  const grid: Array<{ name: string; xs: S4; filter: S4; pad: Pad }> = [];
  for (const batch of [1, 3])
    for (const [k1, k2] of [
      [3, 3],
      [1, 1],
      [5, 5],
    ] as const)
      for (const [padName, pad] of PADS)
        for (const ci of [1, 3, 4, 32])
          for (const co of [4, 8, 32, 12]) {
            grid.push({
              name: `b${batch} 5x7 k${k1}x${k2} ${padName} ${ci}->${co}`,
              xs: [batch, 5, 7, ci],
              filter: [k1, k2, ci, co],
              pad,
            });
          }
  // Larger images, so that the kernel works in several blocks of rows.
  grid.push(
    { name: 'b2 30x28 3x3 same 32->32', xs: [2, 30, 28, 32], filter: [3, 3, 32, 32], pad: 'same' },
    { name: 'b2 28x28 3x3 same 1->32 (first layer)', xs: [2, 28, 28, 1], filter: [3, 3, 1, 32], pad: 'same' },
    { name: 'b1 21x19 5x3 valid 7->20', xs: [1, 21, 19, 7], filter: [5, 3, 7, 20], pad: 'valid' },
    { name: 'b2 16x16 3x3 explicit 9->36', xs: [2, 16, 16, 9], filter: [3, 3, 9, 36], pad: explicit },
  );

  it.each(grid.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const ys = outShape(c.xs, c.filter, c.pad);
    const x = randn(c.xs, 1000 + i);
    const dy = randn(ys, 2000 + i);
    const got = await simdDw(x, c.xs, dy, ys, c.filter, c.pad);
    expect(got, 'the kernel applies').not.toBeNull();
    const r = withinBound(got!, filterGradFloat64(x, c.xs, dy, c.filter, c.pad));
    stats.cases++;
    stats.worst = Math.max(stats.worst, r.worst);
    stats.rel = Math.max(stats.rel, r.rel);
    expect(r.worst, 'error / float32 bound').toBeLessThanOrEqual(1);
  });

  it('random shapes and paddings (fast-check)', async () => {
    const shape = fc
      .record({
        n: fc.integer({ min: 1, max: 3 }),
        h: fc.integer({ min: 1, max: 9 }),
        w: fc.integer({ min: 1, max: 9 }),
        kh: fc.integer({ min: 1, max: 5 }),
        kw: fc.integer({ min: 1, max: 5 }),
        ci: fc.integer({ min: 1, max: 9 }),
        co: fc.integer({ min: 1, max: 10 }).map((k) => 4 * k),
        pad: convPadArbitrary(4),
        seed: fc.integer({ min: 1, max: 2 ** 30 }),
      })
      .filter((s) => {
        const info = tf.backend_util.computeConv2DInfo(
          [s.n, s.h, s.w, s.ci],
          [s.kh, s.kw, s.ci, s.co],
          1,
          1,
          s.pad,
        );
        return info.outHeight >= 1 && info.outWidth >= 1;
      });
    await fc.assert(
      fc.asyncProperty(shape, async (s) => {
        const xs: S4 = [s.n, s.h, s.w, s.ci];
        const filter: S4 = [s.kh, s.kw, s.ci, s.co];
        const ys = outShape(xs, filter, s.pad);
        const x = randn(xs, s.seed);
        const dy = randn(ys, s.seed + 1);
        const got = await simdDw(x, xs, dy, ys, filter, s.pad);
        expect(got).not.toBeNull();
        expect(withinBound(got!, filterGradFloat64(x, xs, dy, filter, s.pad)).worst).toBeLessThanOrEqual(1);
      }),
      { numRuns: 150, seed: 20240611 },
    );
  });

  it('the reference check fails on a wrong dW (it can fail)', () => {
    const xs: S4 = [1, 5, 7, 3];
    const filter: S4 = [3, 3, 3, 4];
    const ys = outShape(xs, filter, 'same');
    const x = randn(xs, 5);
    const dy = randn(ys, 6);
    const ref = filterGradFloat64(x, xs, dy, filter, 'same');
    const wrong = Float32Array.from(ref.value);
    // One product missing from one element.
    wrong[7]! -= x[0]! * dy[0]!;
    expect(withinBound(Float32Array.from(ref.value), ref).ok).toBe(true);
    expect(withinBound(wrong, ref).ok).toBe(false);
  });
});

describe('where the SIMD kernel applies', () => {
  it('declines stride > 1, output channels not a multiple of 4, and other backends', async () => {
    await tf.setBackend('wasm');
    tf.tidy(() => {
      const x = tf.randomNormal([1, 6, 6, 4]) as tf.Tensor4D;
      expect(conv2dFilterGradViaSimd(x, tf.zeros([1, 3, 3, 8]), [3, 3, 4, 8], 2, 'same')).toBeNull();
      expect(conv2dFilterGradViaSimd(x, tf.zeros([1, 6, 6, 6]), [3, 3, 4, 6], 1, 'same')).toBeNull();
      expect(conv2dFilterGradViaSimd(x, tf.zeros([1, 6, 6, 8]), [3, 3, 4, 8], 1, 'same')).not.toBeNull();
    });
    await tf.setBackend('cpu');
    tf.tidy(() => {
      const x = tf.randomNormal([1, 6, 6, 4]) as tf.Tensor4D;
      expect(conv2dFilterGradViaSimd(x, tf.zeros([1, 6, 6, 8]), [3, 3, 4, 8], 1, 'same')).toBeNull();
    });
  });

  itBindsToTheWasmHeap({ compile: compileConvFilterGrad, bind: convFilterGradSimdFor });

  it('src/kernels/generated/conv-filter-grad-wasm.ts is the assembled conv-filter-grad.wat', () => {
    const script = fileURLToPath(new URL('../scripts/build-simd.mjs', import.meta.url));
    const run = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

/** Kernel names run while computing `f`'s gradients on the active backend. */
async function kernelsOf(f: () => tf.Tensor[]): Promise<string[]> {
  const info = await tf.profile(() => {
    const out = f();
    return out;
  });
  return info.kernelNames;
}

describe('the installed conv2d gradient on wasm, vs cpu stock', () => {
  const cases: Array<{ name: string; x: S4; w: S4; pad: Pad }> = [
    { name: '1->32 28x28 same, batch 2 (first layer)', x: [2, 28, 28, 1], w: [3, 3, 1, 32], pad: 'same' },
    { name: '32->32 14x14 same, batch 2', x: [2, 14, 14, 32], w: [3, 3, 32, 32], pad: 'same' },
    { name: '3->12 5x7 explicit, batch 3', x: [3, 5, 7, 3], w: [3, 3, 3, 12], pad: explicit },
    { name: '4->8 9x9 5x5 valid, batch 1', x: [1, 9, 9, 4], w: [5, 5, 4, 8], pad: 'valid' },
    { name: '32->4 7x7 1x1, batch 3', x: [3, 7, 7, 32], w: [1, 1, 32, 4], pad: 'valid' },
  ];
  it.each(cases.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    installTrainingFixes('wasm');
    uninstallTrainingFixes('cpu');
    const ys = outShape(c.x, c.w, c.pad);
    const f = (x: tf.Tensor, w: tf.Tensor, r: tf.Tensor) =>
      tf.sum(tf.mul(r, tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, c.pad)));
    const inputs = [
      input(c.x, randn(c.x, 3000 + i)),
      input(c.w, randn(c.w, 3100 + i, 1 / Math.sqrt(c.w[0] * c.w[1] * c.w[2]))),
      input(ys, randn(ys, 3200 + i)),
    ];
    const cpu = await gradsOn('cpu', f, inputs);
    const wasm = await gradsOn('wasm', f, inputs);
    expect(relErr(cpu[0]!, wasm[0]!), 'dx').toBeLessThan(1e-5);
    expect(relErr(cpu[1]!, wasm[1]!), 'dW').toBeLessThan(1e-5);
    // ... and dW came from the SIMD kernel.
    const names = await kernelsOf(() => {
      const ts = inputs.map((t) => tf.tensor(t.data, t.shape));
      const g = tf.grads((a, b, r) => f(a!, b!, r!) as tf.Scalar)(ts);
      tf.dispose(ts);
      return g;
    });
    // 3×3 filters over a multiple of 4 input channels go to the Winograd form of the kernel.
    const winograd = c.w[0] === 3 && c.w[1] === 3 && c.w[2] % 4 === 0;
    expect(names).toContain(winograd ? 'Conv2DFilterGradWinograd' : 'Conv2DFilterGradSimd');
  });

  it('uses the matMul/conv2d forms with convFilterGradSimd: false, with the same result', async () => {
    uninstallTrainingFixes('cpu');
    const xs: S4 = [2, 12, 12, 8];
    const wShape: S4 = [3, 3, 8, 16];
    const f = (x: tf.Tensor, w: tf.Tensor) =>
      tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')));
    const inputs = [input(xs, randn(xs, 41)), input(wShape, randn(wShape, 42, 0.1))];
    installTrainingFixes('wasm', { convFilterGradSimd: false });
    await tf.setBackend('wasm');
    const names = await kernelsOf(() => {
      const ts = inputs.map((t) => tf.tensor(t.data, t.shape));
      const g = tf.grads((a, b) => f(a!, b!) as tf.Scalar)(ts);
      tf.dispose(ts);
      return g;
    });
    expect(names).not.toContain('Conv2DFilterGradSimd');
    const off = await gradsOn('wasm', f, inputs);
    installTrainingFixes('wasm');
    const on = await gradsOn('wasm', f, inputs);
    expect(relErr(off[1]!, on[1]!)).toBeLessThan(1e-5);
  });

  it('second-order gradients through the filter gradient match the conv2d form', async () => {
    const xs: S4 = [2, 6, 5, 4];
    const wShape: S4 = [3, 3, 4, 8];
    const ys = outShape(xs, wShape, 'same');
    // g(x, r) = Σ s · dW(x, dy = r): the gradient of that with respect to x and r goes through the kernel's gradient.
    const s = tf.tensor4d(randn(wShape, 51), wShape);
    const w = tf.tensor4d(randn(wShape, 53), wShape);
    const f = (x: tf.Tensor, r: tf.Tensor) => {
      const dw = tf.grad((ww: tf.Tensor) =>
        tf.sum(tf.mul(r, tf.conv2d(x as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same'))),
      )(w);
      return tf.sum(tf.mul(s, dw));
    };
    const inputs = [input(xs, randn(xs, 52)), input(ys, randn(ys, 54))];
    installTrainingFixes('wasm', { convFilterGradSimd: false });
    const viaConv = await gradsOn('wasm', f, inputs);
    installTrainingFixes('wasm');
    const viaSimd = await gradsOn('wasm', f, inputs);
    expect(relErr(viaConv[0]!, viaSimd[0]!), 'd/dx').toBeLessThan(1e-5);
    expect(relErr(viaConv[1]!, viaSimd[1]!), 'd/dr').toBeLessThan(1e-5);
    w.dispose();
    s.dispose();
  });
});
