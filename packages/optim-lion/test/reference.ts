import { mulberry32 } from '@gradsign/optim-core';
import type { GoldenRun, TestableOptimizer } from '@gradsign/optim-testkit';

const f = Math.fround;

export interface LionRefConfig {
  lr: number;
  beta1: number;
  beta2: number;
  wd: number;
}

/**
 * One Lion step in plain JS, every operation rounded to float32 as tfjs computes it (a JS number operand of a tfjs
 * op becomes a float32 scalar, so `1 - beta1` is rounded once, after the subtraction in double):
 *   c = β1·m + (1−β1)·g;  p = p·(1 − lr·wd) − lr·sign(c);  m = β2·m + (1−β2)·g
 */
export function lionStepRef(p: Float32Array, g: Float32Array, m: Float32Array, h: LionRefConfig) {
  const param = new Float32Array(p.length);
  const next = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const c = f(f(m[i]! * f(h.beta1)) + f(g[i]! * f(1 - h.beta1)));
    const decayed = h.wd !== 0 ? f(p[i]! * f(1 - h.lr * h.wd)) : p[i]!;
    param[i] = f(decayed - f(Math.sign(c) * f(h.lr)));
    next[i] = f(f(m[i]! * f(h.beta2)) + f(g[i]! * f(1 - h.beta2)));
  }
  return { param, m: next };
}

/** Linear block-wise int8 in plain JS: q = floor(127·(x/absmax) + 0.5), decoded as (q/127)·absmax. */
export function int8BlockwiseRef(values: Float32Array, blockSize = 256) {
  const n = values.length;
  const q = new Int32Array(n);
  const absmax = new Float32Array(Math.ceil(n / blockSize));
  const decoded = new Float32Array(n);
  for (let b = 0; b < absmax.length; b++) {
    const end = Math.min(n, (b + 1) * blockSize);
    let max = 0;
    for (let i = b * blockSize; i < end; i++) max = Math.max(max, Math.abs(values[i]!));
    absmax[b] = max;
    const divisor = max > 0 ? max : 1;
    for (let i = b * blockSize; i < end; i++) {
      q[i] = Math.floor(f(f(f(values[i]! / divisor) * 127) + 0.5));
      decoded[i] = f(f(q[i]! / 127) * max);
    }
  }
  return { q, absmax, decoded };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bf16 with the bits themselves: round to nearest even on the top 16 bits (finite x; -0 → +0). */
export function bf16BitsRef(x: number): number {
  if (x === 0) return 0;
  f32[0] = x;
  const b = u32[0]!;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBf16BitsRef(bits: number): number {
  u32[0] = bits << 16;
  return f32[0]!;
}

/** Seeded standard normal samples (Box–Muller over mulberry32). */
export function randn(seed: number, n: number, scale = 1): Float32Array {
  const next = mulberry32(seed);
  const random = () => next() / 4294967296;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const t = 2 * Math.PI * random();
    out[i] = scale * r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = scale * r * Math.sin(t);
  }
  return out;
}

/**
 * A golden run computed by the plain-JS reference: `steps` steps from a random parameter with random gradients
 * (one per step), recording the parameter and the momentum after each. With `quantize`, the recorded momentum is
 * the block-wise int8 or bf16 value the optimizer stores.
 */
export function lionGolden(
  name: string,
  create: (h: LionRefConfig) => TestableOptimizer,
  h: LionRefConfig,
  options: { size: number; steps: number; seed: number; quantize?: 'int8' | 'bf16' },
): GoldenRun {
  const param0 = randn(options.seed, options.size, 0.5);
  const grads = Array.from({ length: options.steps }, (_, k) =>
    randn(options.seed * 100 + k + 1, options.size),
  );
  let p = param0;
  let m = new Float32Array(options.size);
  const steps = grads.map((g) => {
    const next = lionStepRef(p, g, m, h);
    p = next.param;
    m =
      options.quantize === 'int8'
        ? int8BlockwiseRef(next.m).decoded
        : options.quantize === 'bf16'
          ? next.m.map((v) => fromBf16BitsRef(bf16BitsRef(v)))
          : next.m;
    return { param: Array.from(p), state: { m: Array.from(m) } };
  });
  return {
    name,
    create: () => create(h),
    param0: Array.from(param0),
    grads: grads.map((g) => Array.from(g)),
    steps,
  };
}
