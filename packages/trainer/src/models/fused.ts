import * as tf from '@tensorflow/tfjs-core';
import { wholeBatchSums } from '../parallel/group.js';
import { simdBackward, simdFor, simdForward, simdLeakyAffine, type WasmBackendLike } from './fused-simd.js';

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
 * (fused-simd.wat) on the backend's own heap when the channel count is a multiple of 4; otherwise, and on cpu,
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
export const BIAS_LEAKY_BN = 'GradsignBiasLeakyBatchNorm';
export const BIAS_LEAKY_BN_GRAD = 'GradsignBiasLeakyBatchNormGrad';
export const BIAS_LEAKY_AFFINE = 'GradsignBiasLeakyAffine';

/** The backends the fused kernels are written for. */
export const FUSED_BACKENDS: readonly string[] = ['cpu', 'wasm'];

interface BlockAttrs {
  slope: number;
  eps: number;
}

let simdEnabled = true;

/**
 * Whether the wasm backend may use the SIMD kernels (default true). With false it runs the JavaScript loops, as
 * cpu does; for tests and benchmarks.
 */
export function setFusedBlockSimd(enabled: boolean): void {
  simdEnabled = enabled;
}

/** The SIMD kernels for this backend and channel count, or null. */
function simdOf(backend: unknown, C: number) {
  return simdEnabled && C % 4 === 0 && isWasm(backend) ? simdFor(backend) : null;
}

/** The parts of tfjs-backend-cpu's MathBackendCPU the kernels use. */
interface CpuBackendLike {
  data: { get(dataId: tf.DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.TypedArray): tf.TensorInfo;
}

function isWasm(b: unknown): b is WasmBackendLike {
  const o = b as Partial<WasmBackendLike> | null;
  return o != null && typeof o.makeOutput === 'function' && typeof o.typedArrayFromHeap === 'function';
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
    if (t.dtype !== 'float32') throw new Error(`fused block kernels take float32 tensors, got ${t.dtype}`);
  }
  if (isWasm(backend)) {
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
        throw new Error('fused block kernels: input values not on the cpu');
      return values;
    });
    const outViews = outputShapes.map((shape) => new Float32Array(shape.reduce((a, b) => a * b, 1)));
    compute(inViews, outViews);
    return outputShapes.map((shape, i) => backend.makeTensorInfo(shape, 'float32', outViews[i]));
  }
  throw new Error('fused block kernels run on the cpu and wasm backends only');
}

/**
 * Training forward. Outputs y (like x), the batch mean and the biased batch variance (both [C]). Inside a
 * data-parallel step the statistics are those of the whole batch, summed over the replica group.
 */
export function biasLeakyBatchNormForward(
  x: Float32Array,
  bias: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  channels: number,
  { slope, eps }: BlockAttrs,
  y: Float32Array,
  meanOut: Float32Array,
  varOut: Float32Array,
): void {
  const C = channels;
  const total = x.length;
  const n = total / C;
  const sum = new Float64Array(C);
  const sumSq = new Float64Array(C);
  const b = Float64Array.from(bias);
  // Pass 1: a = leaky(x + bias) (rounded to float32 as the composed ops would store it), with Σa and Σa².
  // y holds a until pass 2.
  for (let base = 0; base < total; base += C) {
    for (let c = 0; c < C; c++) {
      const z = Math.fround(x[base + c]! + b[c]!);
      const a = z > 0 ? z : Math.fround(slope * z);
      y[base + c] = a;
      sum[c] = sum[c]! + a;
      sumSq[c] = sumSq[c]! + a * a;
    }
  }
  // In data-parallel training the statistics are over the whole batch: the sums and counts of all replicas.
  const { sums: global, count } = wholeBatchSums([sum, sumSq], n);
  const mean = new Float64Array(C);
  const scale = new Float64Array(C);
  const shift = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const m = global[c]! / count;
    // Σa² in float64 over at most a few hundred thousand float32 values: the cancellation is harmless here.
    const v = Math.max(global[C + c]! / count - m * m, 0);
    mean[c] = m;
    meanOut[c] = m;
    varOut[c] = v;
    scale[c] = gamma[c]! / Math.sqrt(v + eps);
    shift[c] = beta[c]!;
  }
  // Pass 2: y = γ·(a − μ)/√(σ² + eps) + β.
  for (let base = 0; base < total; base += C) {
    for (let c = 0; c < C; c++) y[base + c] = (y[base + c]! - mean[c]!) * scale[c]! + shift[c]!;
  }
}

/** Training backward: dx (like x), dbias, dgamma and dbeta ([C]). */
export function biasLeakyBatchNormBackward(
  dy: Float32Array,
  x: Float32Array,
  bias: Float32Array,
  gamma: Float32Array,
  meanIn: Float32Array,
  varIn: Float32Array,
  channels: number,
  { slope, eps }: BlockAttrs,
  dx: Float32Array,
  dbias: Float32Array,
  dgamma: Float32Array,
  dbeta: Float32Array,
): void {
  const C = channels;
  const total = x.length;
  const n = total / C;
  const b = Float64Array.from(bias);
  const mean = Float64Array.from(meanIn);
  const inv = new Float64Array(C);
  for (let c = 0; c < C; c++) inv[c] = 1 / Math.sqrt(varIn[c]! + eps);
  const sdy = new Float64Array(C);
  const sdyx = new Float64Array(C);
  // Pass 1: Σdy and Σdy·â.
  for (let base = 0; base < total; base += C) {
    for (let c = 0; c < C; c++) {
      const z = Math.fround(x[base + c]! + b[c]!);
      const a = z > 0 ? z : Math.fround(slope * z);
      const g = dy[base + c]!;
      sdy[c] = sdy[c]! + g;
      sdyx[c] = sdyx[c]! + g * (a - mean[c]!) * inv[c]!;
    }
  }
  // γ's and β's gradients are this replica's share (the trainer sums gradients over replicas); dx needs the
  // whole batch's sums.
  const { sums: global, count } = wholeBatchSums([sdy, sdyx], n);
  const k = new Float64Array(C);
  const m1 = new Float64Array(C);
  const m2 = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    dbeta[c] = sdy[c]!;
    dgamma[c] = sdyx[c]!;
    k[c] = gamma[c]! * inv[c]!;
    m1[c] = global[c]! / count;
    m2[c] = global[C + c]! / count;
  }
  const sdz = new Float64Array(C);
  // Pass 2: dz, and Σdz for the bias.
  for (let base = 0; base < total; base += C) {
    for (let c = 0; c < C; c++) {
      const z = Math.fround(x[base + c]! + b[c]!);
      const a = z > 0 ? z : Math.fround(slope * z);
      const ah = (a - mean[c]!) * inv[c]!;
      const da = k[c]! * (dy[base + c]! - m1[c]! - ah * m2[c]!);
      const dz = Math.fround(z > 0 ? da : slope * da);
      dx[base + c] = dz;
      sdz[c] = sdz[c]! + dz;
    }
  }
  for (let c = 0; c < C; c++) dbias[c] = sdz[c]!;
}

/** Eval forward: y = (leaky(x + bias) − runningMean)·scale + beta, with scale = γ/√(running variance + eps). */
export function biasLeakyAffineForward(
  x: Float32Array,
  bias: Float32Array,
  runningMean: Float32Array,
  scale: Float32Array,
  beta: Float32Array,
  channels: number,
  slope: number,
  y: Float32Array,
): void {
  const C = channels;
  const total = x.length;
  for (let base = 0; base < total; base += C) {
    for (let c = 0; c < C; c++) {
      const z = Math.fround(x[base + c]! + bias[c]!);
      const a = z > 0 ? z : Math.fround(slope * z);
      y[base + c] = (a - runningMean[c]!) * scale[c]! + beta[c]!;
    }
  }
}

function channelsOf(t: tf.TensorInfo): number {
  const c = t.shape[t.shape.length - 1];
  if (c == null || c < 1) throw new Error(`fused block kernels need a channel axis, got shape [${t.shape}]`);
  return c;
}

const forwardKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, bias, gamma, beta } = inputs as Record<'x' | 'bias' | 'gamma' | 'beta', tf.TensorInfo>;
  const C = channelsOf(x);
  const a = attrs as unknown as BlockAttrs;
  const simd = simdOf(backend, C);
  if (simd) return simdForward(backend as WasmBackendLike, simd, x, bias, gamma, beta, C, a.slope, a.eps);
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
  kernelName: BIAS_LEAKY_BN,
  inputsToSave: ['x', 'bias', 'gamma'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved, attrs) => {
    const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
    const [x, bias, gamma, mean, variance] = saved as tf.Tensor[];
    const [dx, dbias, dgamma, dbeta] = tf
      .engine()
      .runKernel(
        BIAS_LEAKY_BN_GRAD,
        { dy, x: x!, bias: bias!, gamma: gamma!, mean: mean!, variance: variance! },
        attrs,
      ) as tf.Tensor[];
    return { x: () => dx!, bias: () => dbias!, gamma: () => dgamma!, beta: () => dbeta! };
  },
};

/** Registers the fused kernels (and the training kernel's gradient) for a backend, once. */
export function registerFusedBlockKernels(backendName: string): boolean {
  if (!FUSED_BACKENDS.includes(backendName)) return false;
  const kernels: [string, tf.KernelFunc][] = [
    [BIAS_LEAKY_BN, forwardKernel],
    [BIAS_LEAKY_BN_GRAD, backwardKernel],
    [BIAS_LEAKY_AFFINE, affineKernel],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, backendName) == null)
      tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
  if (tf.getGradient(BIAS_LEAKY_BN) == null) tf.registerGradient(forwardGradConfig);
  return true;
}

/** Whether the fused kernels can run on the active backend (registering them on first use). */
export function fusedBlockAvailable(): boolean {
  return registerFusedBlockKernels(tf.getBackend());
}

function requireFused(): void {
  if (!fusedBlockAvailable()) {
    throw new Error(
      `the fused block kernels run on ${FUSED_BACKENDS.join(' and ')}, not on '${tf.getBackend()}'`,
    );
  }
}

/**
 * Training mode: leakyReLU(x + bias) then BatchNorm with batch statistics, as one kernel. Returns the output and
 * the batch mean and *biased* variance over all axes but the last.
 */
export function biasLeakyBatchNorm(
  x: tf.Tensor4D,
  bias: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  slope: number,
  eps: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  requireFused();
  const attrs: BlockAttrs = { slope, eps };
  const [y, mean, variance] = tf
    .engine()
    .runKernel(BIAS_LEAKY_BN, { x, bias, gamma, beta }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
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
  requireFused();
  return tf.engine().runKernel(BIAS_LEAKY_AFFINE, { x, bias, mean, scale, beta }, {
    slope,
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
