import * as tf from '@tensorflow/tfjs-core';
import { MAXPOOL_GRAD_SHARED_WASM_BASE64, MAXPOOL_GRAD_WASM_BASE64 } from './generated/maxpool-grad-wasm.js';
import { isWasmBackend, moduleOnWasmHeap } from './wasm-heap.js';

type Shape4D = [number, number, number, number];
type Strides = number | [number, number];
type PoolPad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

interface MaxPoolGradAttrs {
  filterSize: Strides;
  strides: Strides;
  pad: PoolPad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface MaxPoolGradExports {
  maxPoolGrad(
    x: number,
    dy: number,
    dx: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    SH: number,
    SW: number,
    top: number,
    left: number,
    tile: number,
  ): void;
}

/**
 * Max-pool backprop on NHWC float data, with the cpu backend's semantics: each window routes its dy to the
 * FIRST position (row-major within the window) holding the window's maximum, the running maximum starts at
 * −Infinity (so windows of negative values are handled), padding positions are skipped, and NaN is never
 * selected. `dx` must be zero-filled; contributions of overlapping windows are summed.
 */
export function maxPoolBackprop(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  dx: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: kh, effectiveFilterWidth: kw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const best = new Float64Array(c);
  const arg = new Int32Array(c);
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < oh; r++) {
      const r0 = r * sh - top;
      for (let q = 0; q < ow; q++) {
        const q0 = q * sw - left;
        best.fill(Number.NEGATIVE_INFINITY);
        arg.fill(-1);
        for (let i = 0; i < kh; i += dh) {
          const xr = r0 + i;
          if (xr < 0 || xr >= h) continue;
          for (let j = 0; j < kw; j += dw) {
            const xq = q0 + j;
            if (xq < 0 || xq >= w) continue;
            const base = ((b * h + xr) * w + xq) * c;
            for (let d = 0; d < c; d++) {
              const v = x[base + d]!;
              if (v > best[d]!) {
                best[d] = v;
                arg[d] = base + d;
              }
            }
          }
        }
        const dyBase = ((b * oh + r) * ow + q) * c;
        for (let d = 0; d < c; d++) {
          const k = arg[d]!;
          if (k >= 0) dx[k] = dx[k]! + dy[dyBase + d]!;
        }
      }
    }
  }
}

const kernel = moduleOnWasmHeap<MaxPoolGradExports>({
  ordinary: MAXPOOL_GRAD_WASM_BASE64,
  shared: MAXPOOL_GRAD_SHARED_WASM_BASE64,
});

/** The SIMD module (maxpool-grad.wat) for a shared or an ordinary memory (see `moduleOnWasmHeap`). */
export const compileMaxPoolGrad = kernel.compile;

/**
 * The SIMD max-pool backprop bound to this backend's memory, or null when it cannot run there: not a wasm backend,
 * no WebAssembly SIMD, or a wasm build that does not expose its memory.
 */
export const maxPoolGradSimdFor = kernel.bind;

let simdEnabled = true;

/**
 * Whether the wasm MaxPoolGrad fix runs its WebAssembly SIMD kernel on this backend (the active one by default)
 * for float32 data with a multiple of 4 channels: SIMD enabled, and the module linked to the backend's memory.
 */
export function maxPoolGradUsesSimd(backend: unknown = tf.backend()): boolean {
  return simdEnabled && maxPoolGradSimdFor(backend) != null;
}

/**
 * Whether the wasm MaxPoolGrad fix may use the WebAssembly SIMD kernel (default true). When false, or where SIMD is
 * unavailable or the channel count is not a multiple of 4, it runs `maxPoolBackprop`; both give the same bits.
 */
export function setMaxPoolGradSimd(enabled: boolean): void {
  simdEnabled = enabled;
}

/**
 * Replacement for the wasm backend's MaxPoolGrad kernel. The stock kernel (4.22) starts its running maximum at
 * numeric_limits<float>::min() — the smallest POSITIVE float — so a window whose values are all ≤ 0 gets no
 * gradient at all, and it breaks ties on the last maximum where cpu takes the first. This kernel reads the
 * tensors in place from the wasm heap and runs the WebAssembly SIMD kernel (maxpool-grad.wat) when it can, else
 * `maxPoolBackprop`; the two give bit-identical results.
 */
export function wasmMaxPoolGradKernel(fallback: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const backend = args.backend as unknown;
    if (!isWasmBackend(backend) || input.dtype !== 'float32' || dy.dtype !== 'float32') {
      if (fallback == null) throw new Error('MaxPoolGrad fix: unsupported backend or dtype');
      return fallback(args);
    }
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as MaxPoolGradAttrs;
    const info = tf.backend_util.computePool2DInfo(
      input.shape as Shape4D,
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const out = backend.makeOutput(input.shape, 'float32');
    // Views are taken after makeOutput: allocating may grow (and so detach) the wasm heap.
    const dxv = backend.typedArrayFromHeap(out) as Float32Array;
    const simd = simdEnabled && info.inChannels % 4 === 0 ? maxPoolGradSimdFor(backend) : null;
    if (simd != null && info.dilationHeight === 1 && info.dilationWidth === 1) {
      // The windows tile the image: each dx element is written exactly once, so dx is not zero-filled first.
      const tile =
        info.strideHeight === info.effectiveFilterHeight &&
        info.strideWidth === info.effectiveFilterWidth &&
        info.padInfo.top === 0 &&
        info.padInfo.left === 0 &&
        info.outHeight * info.strideHeight === info.inHeight &&
        info.outWidth * info.strideWidth === info.inWidth;
      if (!tile) dxv.fill(0);
      const ptr = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
      simd.maxPoolGrad(
        ptr(input),
        ptr(dy),
        dxv.byteOffset,
        info.batchSize,
        info.inHeight,
        info.inWidth,
        info.inChannels,
        info.outHeight,
        info.outWidth,
        info.effectiveFilterHeight,
        info.effectiveFilterWidth,
        info.strideHeight,
        info.strideWidth,
        info.padInfo.top,
        info.padInfo.left,
        tile ? 1 : 0,
      );
      return out;
    }
    dxv.fill(0);
    maxPoolBackprop(backend.typedArrayFromHeap(input), backend.typedArrayFromHeap(dy), dxv, info);
    return out;
  };
}
