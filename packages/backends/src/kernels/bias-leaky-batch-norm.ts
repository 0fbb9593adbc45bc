import * as tf from '@tensorflow/tfjs-core';
import {
  type BlockAttrs,
  biasLeakyAffineForward,
  biasLeakyBatchNormBackward,
  biasLeakyBatchNormForward,
} from './bias-leaky-batch-norm-loops.js';
import { simdBackward, simdFor, simdForward, simdLeakyAffine } from './bias-leaky-batch-norm-simd.js';
import type { ReplicaSum } from './replica-sum.js';
import { isWasmBackend, type WasmBackendLike } from './wasm-heap.js';

/**
 * One fused kernel for the tail of a blog-cnn block: conv output + bias → leakyReLU → BatchNorm, in training
 * (batch statistics) and in eval (running statistics), with a hand-derived backward kernel.
 *
 * Composed from tfjs ops, that tail costs more than the convolutions on wasm: about 25 element-wise, broadcast
 * and reduction kernels per block in forward and backward, plus a copy of every tensor each kernel saves for its
 * gradient. Here the forward reads the input twice and the backward three times.
 *
 * The kernels run on the cpu and wasm backends, reading and writing the backends' memory in place; elsewhere
 * (webgl, tensorflow) the model keeps the composed ops. On wasm they are WebAssembly SIMD loops
 * (bias-leaky-batch-norm.wat) on the backend's own heap when the channel count is a multiple of 4; otherwise, and on cpu,
 * JavaScript loops. Statistics and gradient sums accumulate in float64 (the SIMD loops fold float32 partial sums
 * of 64 positions into float64).
 *
 * Training forward, with z = x + bias and N = B·H·W values per channel:
 *
 *     a = z > 0 ? z : slope·z,   μ = mean(a),   σ² = mean((a − μ)²)  (biased),   y = γ·(a − μ)/√(σ² + eps) + β
 *
 * Backward, with inv = 1/√(σ² + eps) and â = (a − μ)·inv:
 *
 *     dβ = Σ dy,   dγ = Σ dy·â,   da = γ·inv·(dy − dβ/N − â·dγ/N),   dz = z > 0 ? da : slope·da,   dbias = Σ dz
 */
export const BIAS_LEAKY_BATCH_NORM = 'BiasLeakyBatchNorm';
/** The training kernel's backward: dx, dbias, dγ and dβ in one call. */
export const BIAS_LEAKY_BATCH_NORM_GRAD = 'BiasLeakyBatchNormGrad';
/** The eval form: (leakyReLU(x + bias) − running mean)·scale + β, with scale = γ/√(running variance + eps). */
export const BIAS_LEAKY_AFFINE = 'BiasLeakyAffine';

/** The backends the kernels are written for. */
export const BIAS_LEAKY_BATCH_NORM_BACKENDS: readonly string[] = ['cpu', 'wasm'];

let simdEnabled = true;

/**
 * Whether the wasm backend may use the SIMD kernels (default true). With false it runs the JavaScript loops, as
 * cpu does; for tests and benchmarks.
 */
export function setBiasLeakyBatchNormSimd(enabled: boolean): void {
  simdEnabled = enabled;
}

/** The SIMD kernels for this backend and channel count, or null. */
function simdOf(backend: unknown, C: number) {
  return simdEnabled && C % 4 === 0 && isWasmBackend(backend) ? simdFor(backend) : null;
}

/** The parts of tfjs-backend-cpu's MathBackendCPU the kernels use. */
interface CpuBackendLike {
  data: { get(dataId: tf.DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.TypedArray): tf.TensorInfo;
}

function isCpu(b: unknown): b is CpuBackendLike {
  const o = b as Partial<CpuBackendLike> | null;
  return o != null && typeof o.makeTensorInfo === 'function' && typeof o.data?.get === 'function';
}

/**
 * Runs `compute` on float32 views of the inputs and of freshly allocated outputs, in the backend's own memory
 * where it can (wasm heap), and returns the outputs.
 */
function withArrays(
  backend: unknown,
  inputs: readonly tf.TensorInfo[],
  outputShapes: readonly number[][],
  compute: (inputs: Float32Array[], outputs: Float32Array[]) => void,
): tf.TensorInfo[] {
  for (const t of inputs) {
    if (t.dtype !== 'float32')
      throw new Error(`BiasLeakyBatchNorm kernels take float32 tensors, got ${t.dtype}`);
  }
  if (isWasmBackend(backend)) {
    const outs = outputShapes.map((shape) => backend.makeOutput(shape, 'float32'));
    // Views are taken after every allocation: growing the wasm heap detaches earlier views.
    const inViews = inputs.map((t) => backend.typedArrayFromHeap(t) as Float32Array);
    const outViews = outs.map((t) => backend.typedArrayFromHeap(t) as Float32Array);
    compute(inViews, outViews);
    return outs;
  }
  if (isCpu(backend)) {
    const inViews = inputs.map((t) => {
      const values = backend.data.get(t.dataId).values;
      if (!(values instanceof Float32Array))
        throw new Error('BiasLeakyBatchNorm kernels: input values not on the cpu');
      return values;
    });
    const outViews = outputShapes.map((shape) => new Float32Array(shape.reduce((a, b) => a * b, 1)));
    compute(inViews, outViews);
    return outputShapes.map((shape, i) => backend.makeTensorInfo(shape, 'float32', outViews[i]));
  }
  throw new Error('BiasLeakyBatchNorm kernels run on the cpu and wasm backends only');
}

function channelsOf(t: tf.TensorInfo): number {
  const c = t.shape[t.shape.length - 1];
  if (c == null || c < 1)
    throw new Error(`BiasLeakyBatchNorm kernels need a channel axis, got shape [${t.shape}]`);
  return c;
}

const forwardKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, bias, gamma, beta } = inputs as Record<'x' | 'bias' | 'gamma' | 'beta', tf.TensorInfo>;
  const C = channelsOf(x);
  const a = attrs as unknown as BlockAttrs;
  const simd = simdOf(backend, C);
  if (simd)
    return simdForward(backend as WasmBackendLike, simd, x, bias, gamma, beta, C, a.slope, a.eps, a.sum);
  return withArrays(backend, [x, bias, gamma, beta], [x.shape, [C], [C]], ([xv, bv, gv, betav], [y, m, v]) =>
    biasLeakyBatchNormForward(xv!, bv!, gv!, betav!, C, a, y!, m!, v!),
  );
};

const backwardKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, x, bias, gamma, mean, variance } = inputs as Record<
    'dy' | 'x' | 'bias' | 'gamma' | 'mean' | 'variance',
    tf.TensorInfo
  >;
  const C = channelsOf(x);
  const a = attrs as unknown as BlockAttrs;
  const simd = simdOf(backend, C);
  if (simd) {
    return simdBackward(
      backend as WasmBackendLike,
      simd,
      dy,
      x,
      bias,
      gamma,
      mean,
      variance,
      C,
      a.slope,
      a.eps,
      a.sum,
    );
  }
  return withArrays(
    backend,
    [dy, x, bias, gamma, mean, variance],
    [x.shape, [C], [C], [C]],
    ([dyv, xv, bv, gv, mv, vv], [dx, db, dg, dbeta]) =>
      biasLeakyBatchNormBackward(dyv!, xv!, bv!, gv!, mv!, vv!, C, a, dx!, db!, dg!, dbeta!),
  );
};

const affineKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, bias, mean, scale, beta } = inputs as Record<
    'x' | 'bias' | 'mean' | 'scale' | 'beta',
    tf.TensorInfo
  >;
  const C = channelsOf(x);
  const { slope } = attrs as unknown as BlockAttrs;
  const simd = simdOf(backend, C);
  if (simd) return simdLeakyAffine(backend as WasmBackendLike, simd, x, bias, mean, scale, beta, C, slope);
  const [y] = withArrays(backend, [x, bias, mean, scale, beta], [x.shape], ([xv, bv, mv, sv, betav], [yv]) =>
    biasLeakyAffineForward(xv!, bv!, mv!, sv!, betav!, C, slope, yv!),
  );
  return y!;
};

/** Gradient of the training kernel: one backward kernel call gives all four gradients. */
const forwardGradConfig: tf.GradConfig = {
  kernelName: BIAS_LEAKY_BATCH_NORM,
  inputsToSave: ['x', 'bias', 'gamma'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved, attrs) => {
    const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
    const [x, bias, gamma, mean, variance] = saved as tf.Tensor[];
    const [dx, dbias, dgamma, dbeta] = tf
      .engine()
      .runKernel(
        BIAS_LEAKY_BATCH_NORM_GRAD,
        { dy, x: x!, bias: bias!, gamma: gamma!, mean: mean!, variance: variance! },
        attrs,
      ) as tf.Tensor[];
    return { x: () => dx!, bias: () => dbias!, gamma: () => dgamma!, beta: () => dbeta! };
  },
};

/**
 * Registers the kernels (and the training kernel's gradient) for a backend, once; false where they do not run. The
 * ops below call it for the active backend, so nothing else needs to.
 */
export function registerBiasLeakyBatchNorm(backendName: string): boolean {
  if (!BIAS_LEAKY_BATCH_NORM_BACKENDS.includes(backendName)) return false;
  const kernels: [string, tf.KernelFunc][] = [
    [BIAS_LEAKY_BATCH_NORM, forwardKernel],
    [BIAS_LEAKY_BATCH_NORM_GRAD, backwardKernel],
    [BIAS_LEAKY_AFFINE, affineKernel],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, backendName) == null)
      tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
  if (tf.getGradient(BIAS_LEAKY_BATCH_NORM) == null) tf.registerGradient(forwardGradConfig);
  return true;
}

/** Whether the kernels can run on the active backend (registering them on first use). */
export function biasLeakyBatchNormAvailable(): boolean {
  return registerBiasLeakyBatchNorm(tf.getBackend());
}

function requireKernels(): void {
  if (!biasLeakyBatchNormAvailable()) {
    throw new Error(
      `the BiasLeakyBatchNorm kernels run on ${BIAS_LEAKY_BATCH_NORM_BACKENDS.join(' and ')}, not on '${tf.getBackend()}'`,
    );
  }
}

/**
 * Training mode: leakyReLU(x + bias) then BatchNorm with batch statistics, as one kernel. Returns the output and
 * the batch mean and *biased* variance over all axes but the last. In data-parallel training, `sum` adds the
 * statistics' sums over the replicas (forward and backward), so that they are the whole batch's.
 */
export function biasLeakyBatchNorm(
  x: tf.Tensor4D,
  bias: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  slope: number,
  eps: number,
  sum?: ReplicaSum,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  requireKernels();
  const attrs: BlockAttrs = sum ? { slope, eps, sum } : { slope, eps };
  const [y, mean, variance] = tf
    .engine()
    .runKernel(
      BIAS_LEAKY_BATCH_NORM,
      { x, bias, gamma, beta },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
  return { y: y as tf.Tensor4D, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/** Eval mode: (leakyReLU(x + bias) − mean)·scale + beta, as one kernel (no gradient). */
export function biasLeakyAffine(
  x: tf.Tensor4D,
  bias: tf.Tensor,
  mean: tf.Tensor,
  scale: tf.Tensor,
  beta: tf.Tensor,
  slope: number,
): tf.Tensor4D {
  requireKernels();
  return tf.engine().runKernel(BIAS_LEAKY_AFFINE, { x, bias, mean, scale, beta }, {
    slope,
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
