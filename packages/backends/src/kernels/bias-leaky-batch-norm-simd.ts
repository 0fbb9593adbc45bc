import type * as tf from '@tensorflow/tfjs-core';
import {
  BIAS_LEAKY_BATCH_NORM_FMA_SHARED_WASM_BASE64,
  BIAS_LEAKY_BATCH_NORM_FMA_WASM_BASE64,
  BIAS_LEAKY_BATCH_NORM_SHARED_WASM_BASE64,
  BIAS_LEAKY_BATCH_NORM_WASM_BASE64,
} from './generated/bias-leaky-batch-norm-wasm.js';
import { type ReplicaSum, wholeBatchSums } from './replica-sum.js';
import { heapMemory, heapScratch, moduleOnWasmHeap, type WasmBackendLike } from './wasm-heap.js';

/**
 * The `BiasLeakyBatchNorm` kernels as WebAssembly SIMD (bias-leaky-batch-norm.wat), instantiated on the tfjs wasm backend's own
 * memory so they read and write tensors in place. Used by the wasm backend's kernels when the channel count is a
 * multiple of 4; `null` where it cannot run (no SIMD, or a wasm build that does not expose its memory), in which
 * case the kernels use the JavaScript loops.
 */
interface SimdExports {
  fwdStats(
    x: number,
    bias: number,
    y: number,
    acc: number,
    part: number,
    npos: number,
    C: number,
    slope: number,
  ): void;
  affine(y: number, mean: number, scale: number, shift: number, npos: number, C: number): void;
  leakyAffine(
    x: number,
    bias: number,
    mean: number,
    scale: number,
    shift: number,
    y: number,
    npos: number,
    C: number,
    slope: number,
  ): void;
  bwdStats(
    dy: number,
    x: number,
    bias: number,
    mean: number,
    inv: number,
    acc: number,
    part: number,
    npos: number,
    C: number,
    slope: number,
  ): void;
  bwdDx(
    dy: number,
    x: number,
    bias: number,
    mean: number,
    inv: number,
    k: number,
    m1: number,
    m2: number,
    dx: number,
    acc: number,
    part: number,
    npos: number,
    C: number,
    slope: number,
  ): void;
}

const kernel = moduleOnWasmHeap<SimdExports>({
  ordinary: BIAS_LEAKY_BATCH_NORM_WASM_BASE64,
  shared: BIAS_LEAKY_BATCH_NORM_SHARED_WASM_BASE64,
  fma: {
    ordinary: BIAS_LEAKY_BATCH_NORM_FMA_WASM_BASE64,
    shared: BIAS_LEAKY_BATCH_NORM_FMA_SHARED_WASM_BASE64,
  },
});

/** The module for a shared (threaded backend) or an ordinary memory (see `moduleOnWasmHeap`). */
export const compileBiasLeakyBatchNorm = kernel.compile;

/** The SIMD kernels bound to a wasm backend's memory, with its heap's scratch allocator. */
export interface Simd {
  readonly memory: WebAssembly.Memory;
  readonly fn: SimdExports;
  readonly malloc: (bytes: number) => number;
  readonly free: (ptr: number) => void;
}

/** Per instance of the module (one per backend and build), its kernels with the backend's memory and scratch. */
const bound = new WeakMap<object, Simd | null>();

/**
 * The SIMD kernels (of the build in use, see `wasmKernelBuild`) bound to this wasm backend's memory, or null when
 * they cannot run there.
 */
export function simdFor(backend: WasmBackendLike): Simd | null {
  const fn = kernel.bind(backend);
  if (fn == null) return null;
  let simd = bound.get(fn);
  if (simd === undefined) {
    const memory = heapMemory(backend);
    const scratch = heapScratch(backend);
    simd = memory != null && scratch != null ? { memory, fn, ...scratch } : null;
    bound.set(fn, simd);
  }
  return simd;
}

const ptr = (backend: WasmBackendLike, t: tf.TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;

/** Training forward on the wasm heap: y, batch mean and biased variance ([C]). */
export function simdForward(
  backend: WasmBackendLike,
  simd: Simd,
  x: tf.TensorInfo,
  bias: tf.TensorInfo,
  gamma: tf.TensorInfo,
  beta: tf.TensorInfo,
  C: number,
  slope: number,
  eps: number,
  overReplicas: ReplicaSum | undefined,
): tf.TensorInfo[] {
  const y = backend.makeOutput(x.shape, 'float32');
  const meanT = backend.makeOutput([C], 'float32');
  const varT = backend.makeOutput([C], 'float32');
  const npos = backend.typedArrayFromHeap(x).length / C;
  // Scratch: acc f64[2C], part f32[2C], then mean, scale, shift f32[C].
  const scratch = simd.malloc(36 * C);
  try {
    const acc = scratch;
    const part = scratch + 16 * C;
    const params = part + 8 * C;
    const buf = simd.memory.buffer;
    new Float64Array(buf, acc, 2 * C).fill(0);
    new Float32Array(buf, part, 2 * C).fill(0);
    simd.fn.fwdStats(ptr(backend, x), ptr(backend, bias), ptr(backend, y), acc, part, npos, C, slope);
    // Whole-batch statistics in data-parallel training: every replica's sums and counts.
    const { sums, count } = wholeBatchSums(
      [new Float64Array(simd.memory.buffer, acc, 2 * C)],
      npos,
      overReplicas,
    );
    const p = new Float32Array(simd.memory.buffer, params, 3 * C);
    const g = backend.typedArrayFromHeap(gamma);
    const b = backend.typedArrayFromHeap(beta);
    const meanOut = backend.typedArrayFromHeap(meanT);
    const varOut = backend.typedArrayFromHeap(varT);
    for (let c = 0; c < C; c++) {
      const m = sums[c]! / count;
      const v = Math.max(sums[C + c]! / count - m * m, 0);
      meanOut[c] = m;
      varOut[c] = v;
      p[c] = m;
      p[C + c] = g[c]! / Math.sqrt(v + eps);
      p[2 * C + c] = b[c]!;
    }
    simd.fn.affine(ptr(backend, y), params, params + 4 * C, params + 8 * C, npos, C);
  } finally {
    simd.free(scratch);
  }
  return [y, meanT, varT];
}

/** Training backward on the wasm heap: dx, dbias, dgamma, dbeta. */
export function simdBackward(
  backend: WasmBackendLike,
  simd: Simd,
  dy: tf.TensorInfo,
  x: tf.TensorInfo,
  bias: tf.TensorInfo,
  gamma: tf.TensorInfo,
  mean: tf.TensorInfo,
  variance: tf.TensorInfo,
  C: number,
  slope: number,
  eps: number,
  overReplicas: ReplicaSum | undefined,
): tf.TensorInfo[] {
  const dx = backend.makeOutput(x.shape, 'float32');
  const dbiasT = backend.makeOutput([C], 'float32');
  const dgammaT = backend.makeOutput([C], 'float32');
  const dbetaT = backend.makeOutput([C], 'float32');
  const npos = backend.typedArrayFromHeap(x).length / C;
  // Scratch: acc f64[2C], part f32[2C], then inv, k, m1, m2 f32[C].
  const scratch = simd.malloc(40 * C);
  try {
    const acc = scratch;
    const part = scratch + 16 * C;
    const inv = part + 8 * C;
    const [k, m1, m2] = [inv + 4 * C, inv + 8 * C, inv + 12 * C];
    let buf = simd.memory.buffer;
    new Float64Array(buf, acc, 2 * C).fill(0);
    new Float32Array(buf, part, 2 * C).fill(0);
    const varv = backend.typedArrayFromHeap(variance);
    const invv = new Float32Array(buf, inv, C);
    for (let c = 0; c < C; c++) invv[c] = 1 / Math.sqrt(varv[c]! + eps);
    const [pdy, px, pb, pm] = [ptr(backend, dy), ptr(backend, x), ptr(backend, bias), ptr(backend, mean)];
    simd.fn.bwdStats(pdy, px, pb, pm, inv, acc, part, npos, C, slope);
    buf = simd.memory.buffer;
    const sums = new Float64Array(buf, acc, 2 * C);
    // dγ and dβ are this replica's share; dx needs the whole batch's sums (data-parallel training).
    const { sums: global, count } = wholeBatchSums([sums], npos, overReplicas);
    const g = backend.typedArrayFromHeap(gamma);
    const p = new Float32Array(buf, k, 3 * C);
    const dgamma = backend.typedArrayFromHeap(dgammaT);
    const dbeta = backend.typedArrayFromHeap(dbetaT);
    for (let c = 0; c < C; c++) {
      const sdy = sums[c]!;
      const sdyx = sums[C + c]!;
      dbeta[c] = sdy;
      dgamma[c] = sdyx;
      p[c] = g[c]! * invv[c]!;
      p[C + c] = global[c]! / count;
      p[2 * C + c] = global[C + c]! / count;
    }
    sums.fill(0);
    simd.fn.bwdDx(pdy, px, pb, pm, inv, k, m1, m2, ptr(backend, dx), acc, part, npos, C, slope);
    const dbias = backend.typedArrayFromHeap(dbiasT);
    const total = new Float64Array(simd.memory.buffer, acc, C);
    for (let c = 0; c < C; c++) dbias[c] = total[c]!;
  } finally {
    simd.free(scratch);
  }
  return [dx, dbiasT, dgammaT, dbetaT];
}

/** Eval forward on the wasm heap: y = (leaky(x + bias) − mean)·scale + beta. */
export function simdLeakyAffine(
  backend: WasmBackendLike,
  simd: Simd,
  x: tf.TensorInfo,
  bias: tf.TensorInfo,
  mean: tf.TensorInfo,
  scale: tf.TensorInfo,
  beta: tf.TensorInfo,
  C: number,
  slope: number,
): tf.TensorInfo {
  const y = backend.makeOutput(x.shape, 'float32');
  const npos = backend.typedArrayFromHeap(x).length / C;
  simd.fn.leakyAffine(
    ptr(backend, x),
    ptr(backend, bias),
    ptr(backend, mean),
    ptr(backend, scale),
    ptr(backend, beta),
    ptr(backend, y),
    npos,
    C,
    slope,
  );
  return y;
}
