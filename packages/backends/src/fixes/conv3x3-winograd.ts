import * as tf from '@tensorflow/tfjs-core';
import {
  CONV3X3_WINOGRAD_SHARED_WASM_BASE64,
  CONV3X3_WINOGRAD_WASM_BASE64,
} from './conv3x3-winograd-wasm.js';
import { isWasmBackend, moduleOnWasmHeap, type WasmBackendLike } from './wasm-heap.js';

/**
 * The forward conv2d of 3×3 filters with stride 1 by Winograd's F(2×2, 3×3) as a WebAssembly SIMD kernel
 * (conv3x3-winograd.wat) on the tfjs wasm backend's own memory: 16 multiplications per 2×2 output tile and channel
 * pair instead of 36. It replaces the wasm backend's Conv2D (XNNPACK) where it applies; the conv input gradient of
 * this package is a conv2d of the same shape, so it runs there too.
 */
interface WinogradExports {
  filterTransform(w: number, u: number, C: number, CO: number): void;
  conv(
    x: number,
    u: number,
    y: number,
    v: number,
    m: number,
    zero: number,
    dump: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    CO: number,
    top: number,
    left: number,
    T: number,
  ): void;
  filterGrad(
    x: number,
    dy: number,
    dw: number,
    z: number,
    v: number,
    h: number,
    zero: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    CO: number,
    top: number,
    left: number,
    T: number,
  ): void;
}

const kernel = moduleOnWasmHeap<WinogradExports>({
  ordinary: CONV3X3_WINOGRAD_WASM_BASE64,
  shared: CONV3X3_WINOGRAD_SHARED_WASM_BASE64,
});

/** The kernel's module for a shared or an ordinary memory (see `moduleOnWasmHeap`). */
export const compileConv3x3Winograd = kernel.compile;

/** The kernel bound to this backend's memory, or null where it cannot run (see `moduleOnWasmHeap`). */
export const conv3x3WinogradFor = kernel.bind;

/** Bytes of transformed inputs and products per block of tiles: small enough to stay in L2. */
const BLOCK_BYTES = 256 * 1024;

/**
 * Whether the Winograd kernel computes this conv: float32 NHWC, a 3×3 filter, stride 1, dilation 1, input and
 * output channels multiples of 4, and an output at least 2×2 (smaller ones gain nothing from 2×2 tiles).
 */
export function winogradApplies(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.dataFormat === 'channelsLast' &&
    info.filterHeight === 3 &&
    info.filterWidth === 3 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.inChannels % 4 === 0 &&
    info.outChannels % 4 === 0 &&
    info.outHeight >= 2 &&
    info.outWidth >= 2
  );
}

/** Tiles per block: an even number whose transformed inputs and outputs fit in `BLOCK_BYTES`. */
function tilesPerBlock(info: tf.backend_util.Conv2DInfo): number {
  const { batchSize: N, outHeight: OH, outWidth: OW, inChannels: C, outChannels: CO } = info;
  const tiles = N * Math.ceil(OH / 2) * Math.ceil(OW / 2);
  const fit = Math.floor(BLOCK_BYTES / (16 * 4 * (C + CO)));
  return Math.max(2, Math.min(fit, tiles + (tiles % 2)) & ~1);
}

/**
 * y = conv2d(x, filter) on the wasm backend by the Winograd kernel, for a conv where `winogradApplies(info)`.
 * Returns null when the kernel cannot run on this backend (no WebAssembly SIMD, or no access to its memory).
 */
export function conv3x3Winograd(
  backend: unknown,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | null {
  const simd = conv3x3WinogradFor(backend);
  if (simd == null || !isWasmBackend(backend)) return null;
  const b: WasmBackendLike = backend;
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C } = info;
  const { outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const T = tilesPerBlock(info);
  const uFloats = 16 * C * CO;
  // Positions are 16 floats (64 bytes) further apart than a block (see conv3x3-winograd.wat).
  const vFloats = 16 * (T * C + 16);
  const mFloats = 16 * (T * CO + 16);
  const y = b.makeOutput([N, OH, OW, CO], 'float32');
  const scratch = b.makeOutput([uFloats + vFloats + mFloats + C + CO], 'float32');
  try {
    // Pointers are taken after both allocations, which may have grown (and replaced) the heap's buffer.
    const s = b.typedArrayFromHeap(scratch);
    const zeroAt = uFloats + vFloats + mFloats;
    s.fill(0, zeroAt, zeroAt + C);
    const ptr = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset;
    const u = s.byteOffset;
    const v = u + uFloats * 4;
    const m = v + vFloats * 4;
    const zero = m + mFloats * 4;
    simd.filterTransform(ptr(filter), u, C, CO);
    const { top, left } = info.padInfo;
    simd.conv(ptr(x), u, ptr(y), v, m, zero, zero + C * 4, N, H, W, C, OH, OW, CO, top, left, T);
  } finally {
    b.disposeData(scratch.dataId);
  }
  return y;
}

/**
 * dW = the filter gradient of a conv where `winogradApplies(info)`, from its input x and output gradient dy, on
 * the wasm backend by the Winograd kernel (the adjoint of the forward algorithm). Returns null when the kernel
 * cannot run on this backend.
 */
export function conv3x3FilterGradWinograd(
  backend: unknown,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | null {
  const simd = conv3x3WinogradFor(backend);
  if (simd == null || !isWasmBackend(backend)) return null;
  const b: WasmBackendLike = backend;
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C } = info;
  const { outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const T = tilesPerBlock(info);
  const zFloats = 16 * C * CO;
  const vFloats = 16 * (T * C + 16);
  const hFloats = 16 * (T * CO + 16);
  const dw = b.makeOutput([3, 3, C, CO], 'float32');
  const scratch = b.makeOutput([zFloats + vFloats + hFloats + Math.max(C, CO)], 'float32');
  try {
    const s = b.typedArrayFromHeap(scratch);
    const zeroAt = zFloats + vFloats + hFloats;
    s.fill(0, 0, zFloats);
    s.fill(0, zeroAt, zeroAt + Math.max(C, CO));
    const ptr = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset;
    const z = s.byteOffset;
    const v = z + zFloats * 4;
    const h = v + vFloats * 4;
    const zero = h + hFloats * 4;
    const { top, left } = info.padInfo;
    simd.filterGrad(ptr(x), ptr(dy), ptr(dw), z, v, h, zero, N, H, W, C, OH, OW, CO, top, left, T);
  } finally {
    b.disposeData(scratch.dataId);
  }
  return dw;
}

interface Conv2DAttrs {
  strides: number | [number, number];
  pad: Parameters<typeof tf.conv2d>[3];
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * A Conv2D kernel for the wasm backend that runs the Winograd kernel where it applies and the stock kernel
 * (`stock`, XNNPACK) everywhere else.
 */
export function wasmConv2DKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const a = args.attrs as unknown as Conv2DAttrs;
    if (x.dtype === 'float32' && filter.dtype === 'float32' && x.shape.length === 4) {
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filter.shape as [number, number, number, number],
        a.strides,
        a.dilations,
        a.pad,
        a.dimRoundingMode,
        false,
        tf.backend_util.convertConv2DDataFormat(a.dataFormat),
      );
      if (winogradApplies(info)) {
        const y = conv3x3Winograd(args.backend, x, filter, info);
        if (y != null) return y;
      }
    }
    return stock(args);
  };
}
