import type * as tf from '@tensorflow/tfjs-core';
import type { AdamHyperparameters } from '../optimizers/adam.js';
import { Float32Storage } from '../state/float32.js';
import type { SlotStorage } from '../state/format.js';
import { type AdamConstants, adamConstants } from './adam-blockwise8.js';
import { hasKernel, registerArrayKernel, runArrayKernel } from './array-kernel.js';

/**
 * A fused Adam step on float32 moments (`Adam`, `AdamW`, and Adam8bit's tensors under its minimum quantized size):
 * `adamRule` in one pass over the parameter, the gradient and both moments, on cpu and wasm. Every step is the
 * float32 operation the op-composed path performs, in the same order, so results are bit-identical; tests hold it
 * to that path.
 */
export const ADAM_FLOAT32_KERNEL = 'AdamFloat32Update';

const f = Math.fround;

/** What the float32 Adam loop needs besides the arrays: the step's constants ({@link adamConstants}). */
export interface AdamFloat32Attrs {
  readonly constants: AdamConstants;
}

/** The Adam step; `outParam`, `outM` and `outV` get the new parameter and moments. */
export function adamFloat32Step(
  [param, grad, mIn, vIn]: readonly (Float32Array | Int32Array)[],
  [outParam, outM, outV]: readonly (Float32Array | Int32Array)[],
  { constants }: AdamFloat32Attrs,
): void {
  const {
    beta1,
    oneMinusBeta1,
    beta2,
    oneMinusBeta2,
    stepSize,
    correction2,
    epsilon,
    decays,
    decay,
    l2s,
    l2,
  } = constants;
  const n = param!.length;
  for (let i = 0; i < n; i++) {
    let p = param![i]!;
    let g = grad![i]!;
    if (decays) p = f(p * decay);
    if (l2s) g = f(g + f(p * l2));
    const m = f(f(mIn![i]! * beta1) + f(g * oneMinusBeta1));
    const v = f(f(vIn![i]! * beta2) + f(f(g * g) * oneMinusBeta2));
    const denom = f(f(f(Math.sqrt(v)) / correction2) + epsilon);
    outParam![i] = f(p - f(f(m / denom) * stepSize));
    outM![i] = m;
    outV![i] = v;
  }
}

registerArrayKernel(
  ADAM_FLOAT32_KERNEL,
  ['param', 'grad', 'm', 'v'],
  ([param]) => [0, 1, 2].map(() => ({ shape: param!.shape, dtype: 'float32' as const })),
  (inputs, outputs, attrs) => adamFloat32Step(inputs, outputs, attrs as unknown as AdamFloat32Attrs),
);

/**
 * One fused Adam step of `param` with float32 moments `m` and `v`, where the active backend has the kernel (cpu,
 * wasm) and the parameter and gradient are float32. Updates the parameter and both moments and returns true;
 * otherwise changes nothing and returns false, and the caller takes the op-composed path.
 */
export function fusedAdamFloat32(
  param: tf.Variable,
  grad: tf.Tensor,
  m: SlotStorage | undefined,
  v: SlotStorage | undefined,
  step: number,
  hyper: AdamHyperparameters,
): boolean {
  if (!(m instanceof Float32Storage) || !(v instanceof Float32Storage)) return false;
  if (param.dtype !== 'float32' || grad.dtype !== 'float32' || !hasKernel(ADAM_FLOAT32_KERNEL)) return false;
  const attrs: AdamFloat32Attrs = { constants: adamConstants(hyper, step) };
  const outs = runArrayKernel(
    ADAM_FLOAT32_KERNEL,
    { param, grad, m: m.value, v: v.value },
    attrs as unknown as tf.NamedAttrMap,
  );
  param.assign(outs[0]!);
  m.value.assign(outs[1]!);
  v.value.assign(outs[2]!);
  for (const t of outs) t.dispose();
  return true;
}
