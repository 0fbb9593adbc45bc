import { Mulberry32 } from '@gradsign/optim-core/rng';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { selectBackend } from '../src/index.js';

/** Padding as tf.conv2d takes it. */
export type ConvPad = Parameters<typeof tf.conv2d>[3];
type Shape4 = [number, number, number, number];

/** Random conv paddings: 'same', 'valid', a number up to 3, or explicit pairs of up to `maxSide` per side. */
export function convPadArbitrary(maxSide: number): fc.Arbitrary<ConvPad> {
  const side = fc.integer({ min: 0, max: maxSide });
  return fc.oneof(
    fc.constantFrom<ConvPad>('same', 'valid'),
    fc.integer({ min: 0, max: 3 }),
    fc.tuple(side, side, side, side).map(
      ([t, b, l, r]): ConvPad => [
        [0, 0],
        [t, b],
        [l, r],
        [0, 0],
      ],
    ),
  );
}

/** Seeded uniform [0, 1) generator: the project's one PRNG, mulberry32. */
export function rng(seed: number): () => number {
  const stream = new Mulberry32(seed);
  return () => stream.nextFloat();
}

/** Optimizer gradients of mixed signs (about 1e-3), with 0, -0, NaN and ±Infinity sprinkled in. */
export function specialGradients(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    out[i] = (r() - 0.5) * 2e-3;
    if (u > 0.97) out[i] = Number.NaN;
    else if (u > 0.95) out[i] = 0;
    else if (u > 0.93) out[i] = -0;
    else if (u > 0.925) out[i] = Number.POSITIVE_INFINITY;
    else if (u > 0.92) out[i] = Number.NEGATIVE_INFINITY;
  }
  return out;
}

/**
 * The bits of a 97×61 weight after 25 steps of the optimizer `make()` gives, on a fixed least-squares problem,
 * on the active backend. Expects kernel `kernel` to run in the first step (the weight is large enough for the
 * optimizers' packed state formats).
 */
export async function trainedBits(
  make: () => tf.Optimizer,
  kernel: string,
  seed: number,
): Promise<Uint32Array> {
  const r = rng(seed);
  const w = tf.variable(
    tf.tensor2d(
      Float32Array.from({ length: 97 * 61 }, () => r() - 0.5),
      [97, 61],
    ),
  );
  const x = tf.tensor2d(
    Float32Array.from({ length: 8 * 97 }, () => r() - 0.5),
    [8, 97],
  );
  const opt = make();
  const loss = () => tf.mean(tf.square(tf.matMul(x, w))) as tf.Scalar;
  const first = await tf.profile(() => {
    opt.minimize(loss);
  });
  expect(first.kernelNames).toContain(kernel);
  for (let step = 1; step < 25; step++)
    tf.tidy(() => {
      opt.minimize(loss);
    });
  const bits = new Uint32Array(w.dataSync().slice().buffer);
  opt.dispose();
  tf.dispose([w, x]);
  return bits;
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Standard-normal values (Box–Muller), never exactly zero. */
export function randn(shape: readonly number[], seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: size(shape) }, () => {
    const u = 1 - r();
    const v = r();
    return scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) || 1e-3;
  });
}

/** A random permutation of 1..n mapped into (lo, hi): all values distinct, so pooling has no ties. */
export function distinct(shape: readonly number[], seed: number, lo = -1, hi = 1): Float32Array {
  const n = size(shape);
  const r = rng(seed);
  const p = Array.from({ length: n }, (_, i) => i + 1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return Float32Array.from(p, (k) => lo + ((hi - lo) * k) / (n + 1));
}

export interface Input {
  data: Float32Array;
  shape: number[];
}

export function input(shape: number[], data: Float32Array): Input {
  return { shape, data };
}

/**
 * Gradients of `f` with respect to every input, on `backend`, copied out as Float32Arrays. The inputs are
 * created on that backend from the same JS arrays, so two backends see identical data.
 */
export async function gradsOn(
  backend: string,
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: Input[],
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(() => {
    const ts = inputs.map((i) => tf.tensor(i.data, i.shape));
    return tf.grads((...xs: tf.Tensor[]) => f(...xs) as tf.Scalar)(ts);
  });
  const values = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(out);
  return values.map((v) => Float32Array.from(v));
}

/** max |a − b| / max(max |a|, max |b|): the error relative to the largest magnitude of either side. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!), Math.abs(b[i]!));
  }
  if (Number.isNaN(diff)) return Number.POSITIVE_INFINITY;
  return scale === 0 ? diff : diff / scale;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export const quiet = (): void => {};

/** dW of a conv in float64, with the scale of a direct sum's rounding error. */
export interface FilterGradReference {
  value: Float64Array;
  /** Σ |x·dy| per dW element: the scale of its rounding error. */
  abs: Float64Array;
  /** Products summed per dW element, at most. */
  terms: number;
}

/** dW in float64, straight from the definition, with tfjs's padding (top/left) and output size. */
export function filterGradFloat64(
  x: Float32Array,
  xs: Shape4,
  dy: Float32Array,
  filter: Shape4,
  pad: ConvPad,
): FilterGradReference {
  const info = tf.backend_util.computeConv2DInfo(xs, filter, 1, 1, pad);
  const [N, H, W, C] = xs;
  const [KH, KW, , CO] = filter;
  const { outHeight: OH, outWidth: OW } = info;
  const { top, left } = info.padInfo;
  const value = new Float64Array(KH * KW * C * CO);
  const abs = new Float64Array(value.length);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dyBase = ((n * OH + oh) * OW + ow) * CO;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh + kh - top;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow + kw - left;
            if (iw < 0 || iw >= W) continue;
            const xBase = ((n * H + ih) * W + iw) * C;
            for (let ci = 0; ci < C; ci++) {
              const xv = x[xBase + ci]!;
              const out = ((kh * KW + kw) * C + ci) * CO;
              for (let co = 0; co < CO; co++) {
                const p = xv * dy[dyBase + co]!;
                value[out + co]! += p;
                abs[out + co]! += Math.abs(p);
              }
            }
          }
        }
      }
    }
  }
  return { value, abs, terms: N * OH * OW };
}

/**
 * The checks every kernel module bound to the wasm backend's memory (`moduleOnWasmHeap`) needs: `bind` is null for
 * a backend whose memory it cannot reach (the callers then use another form), and `compile` gives a module for an
 * ordinary memory (Node, no threads) and for a shared one (the threaded build in isolated pages), each linking only
 * to its own kind.
 */
export function itBindsToTheWasmHeap(module: {
  compile(shared: boolean): WebAssembly.Module | null;
  bind(backend: unknown): unknown;
}): void {
  it('is null for a backend whose wasm memory it cannot reach (then the other forms are used)', () => {
    const fake = { makeOutput: () => ({}), typedArrayFromHeap: () => new Float32Array(0), wasm: {} };
    expect(module.bind(fake)).toBeNull();
    expect(module.bind({})).toBeNull();
  });

  it('links to an ordinary memory (Node, no threads) and a shared one (threaded build in isolated pages)', () => {
    for (const shared of [false, true]) {
      const compiled = module.compile(shared);
      expect(compiled, `shared=${shared}`).not.toBeNull();
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 256, shared });
      expect(() => new WebAssembly.Instance(compiled!, { env: { memory } })).not.toThrow();
      const other = new WebAssembly.Memory({ initial: 1, maximum: 256, shared: !shared });
      expect(() => new WebAssembly.Instance(compiled!, { env: { memory: other } })).toThrow();
    }
  });
}

const selected = new Map<string, Promise<unknown>>();

/** Makes `name` the active backend, selected once through `selectBackend` (gradients and training fixes). */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (!selected.has(name))
    selected.set(name, selectBackend([name], { onLog: quiet, kernels: KERNELS_UNDER_TEST.kernels }));
  await selected.get(name);
  if (!(await tf.setBackend(name)) || tf.getBackend() !== name)
    throw new Error(`backend ${name} is not available`);
}

/**
 * The kernel build this test process checks (vitest.config.ts's projects): 'portable', or 'fma' (relaxed SIMD),
 * with the `kernels` option of `selectBackend` that gives it.
 */
export const KERNELS_UNDER_TEST =
  process.env.GRADSIGN_TEST_KERNELS === 'fma'
    ? ({ build: 'fma', kernels: 'auto' } as const)
    : ({ build: 'portable', kernels: 'portable' } as const);
