import * as tf from '@tensorflow/tfjs-core';
import { conv3x3FilterGradWinograd, conv3x3WinogradFor, winogradApplies } from './conv3x3-winograd.js';
import {
  CONV_FILTER_GRAD_FMA_SHARED_WASM_BASE64,
  CONV_FILTER_GRAD_FMA_WASM_BASE64,
  CONV_FILTER_GRAD_SHARED_WASM_BASE64,
  CONV_FILTER_GRAD_WASM_BASE64,
} from './generated/conv-filter-grad-wasm.js';
import { isWasmBackend, moduleOnWasmHeap } from './wasm-heap.js';

/**
 * The conv2d filter gradient as a WebAssembly SIMD kernel (conv-filter-grad.wat), instantiated on the tfjs wasm
 * backend's own memory so it reads x and dy and writes dW in place: no transposes, no padded copy. NHWC, stride 1,
 * dilation 1, any padding, any input channel count, output channels a multiple of 4.
 */
export const CONV2D_FILTER_GRAD_SIMD = 'Conv2DFilterGradSimd';
/**
 * The same filter gradient for 3×3 filters (input channels a multiple of 4) by the adjoint of Winograd's
 * F(4×4, 3×3) or F(2×2, 3×3), as the forward conv chooses (conv3x3-winograd.wat). Used where the
 * `conv2d-winograd` fix is installed.
 */
export const CONV2D_FILTER_GRAD_WINOGRAD = 'Conv2DFilterGradWinograd';

type Shape4D = [number, number, number, number];
type Strides = number | [number, number];
type Pad = Parameters<typeof tf.conv2d>[3];
type RoundingMode = 'floor' | 'round' | 'ceil';

interface FilterGradExports {
  filterGrad(
    x: number,
    dy: number,
    dw: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    CO: number,
    KH: number,
    KW: number,
    top: number,
    left: number,
    rows: number,
  ): void;
}

const kernel = moduleOnWasmHeap<FilterGradExports>({
  ordinary: CONV_FILTER_GRAD_WASM_BASE64,
  shared: CONV_FILTER_GRAD_SHARED_WASM_BASE64,
  fma: { ordinary: CONV_FILTER_GRAD_FMA_WASM_BASE64, shared: CONV_FILTER_GRAD_FMA_SHARED_WASM_BASE64 },
});

/** The kernel's module for a shared or an ordinary memory (see `moduleOnWasmHeap`). */
export const compileConvFilterGrad = kernel.compile;

/**
 * The kernel bound to this backend's memory, or null when it cannot run there: not a wasm backend, no
 * WebAssembly SIMD, or a wasm build that does not expose its memory.
 */
export const convFilterGradSimdFor = kernel.bind;

interface KernelAttrs {
  filterShape: Shape4D;
  pad: Pad;
  dimRoundingMode?: RoundingMode;
  top: number;
  left: number;
  rows: number;
}

/** Output rows per block: that block's x rows (with the filter's halo) and dy rows fit in about 32 KiB (L1). */
function rowsPerBlock(info: tf.backend_util.Conv2DInfo): number {
  const { inWidth: W, inChannels: C, outWidth: OW, outChannels: CO, filterHeight: KH } = info;
  const budget = 32 * 1024 - (KH - 1) * W * C * 4;
  const rows = Math.floor(budget / ((W * C + OW * CO) * 4));
  return Math.min(Math.max(rows, 1), info.outHeight);
}

/** Backends whose 3×3 filter gradients use the Winograd kernel (the `conv2d-winograd` fix). */
const winogradBackends = new Set<string>();

/** Whether 3×3 filter gradients on a backend use the Winograd kernel where it applies. */
export function setConvFilterGradWinograd(backendName: string, enabled: boolean): void {
  if (enabled) winogradBackends.add(backendName);
  else winogradBackends.delete(backendName);
}

const winogradKernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as KernelAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Shape4D,
    a.filterShape,
    1,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const dw = conv3x3FilterGradWinograd(backend, x, dy, info);
  if (dw == null)
    throw new Error(`${CONV2D_FILTER_GRAD_WINOGRAD} needs the wasm backend with WebAssembly SIMD`);
  return dw;
};

const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as KernelAttrs;
  const simd = convFilterGradSimdFor(backend);
  if (simd == null || !isWasmBackend(backend)) {
    throw new Error(`${CONV2D_FILTER_GRAD_SIMD} needs the wasm backend with WebAssembly SIMD`);
  }
  const [N, H, W, C] = x.shape as Shape4D;
  const [, OH, OW, CO] = dy.shape as Shape4D;
  const [KH, KW] = a.filterShape;
  const dw = backend.makeOutput([...a.filterShape], 'float32');
  // Pointers are taken after the allocation, which may have grown (and replaced) the heap's buffer.
  backend.typedArrayFromHeap(dw).fill(0);
  const ptr = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
  simd.filterGrad(ptr(x), ptr(dy), ptr(dw), N, H, W, C, OH, OW, CO, KH, KW, a.top, a.left, a.rows);
  return dw;
};

/**
 * Gradient of the kernel (dW is bilinear in x and dy), so that second-order gradients through the conv filter
 * gradient keep working as they do with the conv2d form: for an upstream ddW, dx is the input gradient of a conv
 * of dy with filter ddW and ddy is the conv of x with ddW.
 */
const gradConfig = (kernelName: string): tf.GradConfig => ({
  kernelName,
  inputsToSave: ['x', 'dy'],
  gradFunc: (ddw, saved, attrs) => {
    const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
    const a = attrs as unknown as KernelAttrs;
    const g = ddw as tf.Tensor4D;
    return {
      x: () => tf.conv2dTranspose(dy, g, x.shape, 1, a.pad as 'same', a.dimRoundingMode),
      dy: () => tf.conv2d(x, g, 1, a.pad, 'NHWC', 1, a.dimRoundingMode),
    };
  },
});

function ensureRegistered(backendName: string): void {
  for (const [name, func] of [
    [CONV2D_FILTER_GRAD_SIMD, kernelFunc],
    [CONV2D_FILTER_GRAD_WINOGRAD, winogradKernelFunc],
  ] as const) {
    if (tf.getKernel(name, backendName) == null)
      tf.registerKernel({ kernelName: name, backendName, kernelFunc: func });
    if (tf.getGradient(name) == null) tf.registerGradient(gradConfig(name));
  }
}

/**
 * Filter gradient of a NHWC conv2d with stride 1 and dilation 1, by the WebAssembly SIMD kernel (or its Winograd
 * form for 3×3 filters where `setConvFilterGradWinograd` enabled it), on the active backend if it is tfjs's wasm
 * backend. Returns null where the kernel does not apply (another backend, no SIMD or
 * no access to the wasm memory, stride > 1, output channels not a multiple of 4, not float32); the caller then
 * uses another form.
 */
export function conv2dFilterGradViaSimd(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: Shape4D,
  strides: Strides,
  pad: Pad,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D | null {
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return null;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const { batchSize, outHeight, outWidth, outChannels } = info;
  if (outChannels % 4 !== 0) return null;
  const [n, oh, ow, co] = dy.shape;
  if (n !== batchSize || oh !== outHeight || ow !== outWidth || co !== outChannels) return null;
  if (convFilterGradSimdFor(tf.backend()) == null) return null;
  ensureRegistered(tf.getBackend());
  const winograd =
    winogradBackends.has(tf.getBackend()) &&
    winogradApplies(info) &&
    conv3x3WinogradFor(tf.backend()) != null;
  const attrs: KernelAttrs = {
    filterShape: [...filterShape],
    pad,
    top: info.padInfo.top,
    left: info.padInfo.left,
    rows: rowsPerBlock(info),
  };
  if (dimRoundingMode != null) attrs.dimRoundingMode = dimRoundingMode;
  return tf
    .engine()
    .runKernel(
      winograd ? CONV2D_FILTER_GRAD_WINOGRAD : CONV2D_FILTER_GRAD_SIMD,
      { x, dy },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor4D;
}
