import * as tf from '@tensorflow/tfjs-core';
import {
  CONV3X3_WINOGRAD_FMA_SHARED_WASM_BASE64,
  CONV3X3_WINOGRAD_FMA_WASM_BASE64,
  CONV3X3_WINOGRAD_SHARED_WASM_BASE64,
  CONV3X3_WINOGRAD_WASM_BASE64,
} from './generated/conv3x3-winograd-wasm.js';
import { isWasmBackend, moduleOnWasmHeap, type WasmBackendLike } from './wasm-heap.js';

/**
 * A tiled pass of the kernel (conv3x3-winograd.wat), all arguments byte offsets on the wasm heap or sizes:
 * `conv`/`conv6` take (x, u, y, v, m, zero or tmp, dump, ...) and `filterGrad`/`filterGrad6` take
 * (x, dy, dw, z, v, h, zero or tmp, ...), then N, H, W, C, OH, OW, CO, top, left and T (tiles per block).
 */
type TiledPass = (
  a: number,
  b: number,
  c: number,
  d: number,
  e: number,
  f: number,
  g: number,
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
) => void;

/**
 * The exports of conv3x3-winograd.wat: 3×3 stride-1 convs and their filter gradients by Winograd's F(2×2, 3×3)
 * and F(4×4, 3×3) (the `6` variants, 6×6 input tiles), run on the tfjs wasm backend's own memory. They replace
 * the wasm backend's Conv2D (XNNPACK) where they apply; the conv input gradient of this package is a conv2d of the
 * same shape, so it runs there too.
 */
interface WinogradExports {
  filterTransform(w: number, u: number, C: number, CO: number): void;
  filterTransform6(w: number, u: number, C: number, CO: number): void;
  conv: TiledPass;
  conv6: TiledPass;
  filterGrad: TiledPass;
  filterGrad6: TiledPass;
}

const kernel = moduleOnWasmHeap<WinogradExports>({
  ordinary: CONV3X3_WINOGRAD_WASM_BASE64,
  shared: CONV3X3_WINOGRAD_SHARED_WASM_BASE64,
  fma: { ordinary: CONV3X3_WINOGRAD_FMA_WASM_BASE64, shared: CONV3X3_WINOGRAD_FMA_SHARED_WASM_BASE64 },
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

let maxTile: 2 | 4 = 4;

/**
 * The largest Winograd tile in use (default 4); 2 restricts every conv to F(2×2, 3×3), for benchmarks and tests.
 */
export function setWinogradMaxTile(tile: 2 | 4): void {
  if (tile !== 2 && tile !== 4) throw new RangeError(`the Winograd tile is 2 or 4, not ${String(tile)}`);
  maxTile = tile;
}

/**
 * The output tile edge of the Winograd conv and its filter gradient: 4 (F(4×4, 3×3), 36 products per tile, 2.25
 * per output) or 2 (F(2×2, 3×3), 16 per tile, 4 per output). F(4×4) has heavier transforms, a larger rounding error
 * (about 6e-6 of the largest output against 3e-7 on the tests' inputs) and overhangs an output that is not a
 * multiple of 4, so it is used where its products, with 15 % added for the transforms, are fewer: outputs of at
 * least 6×6 (the reference CNN's 28×28, 14×14 and 7×7 layers; its 3×3 layers keep F(2×2)).
 */
export function winogradTile(info: tf.backend_util.Conv2DInfo): 2 | 4 {
  const { outHeight: OH, outWidth: OW } = info;
  if (maxTile === 2 || OH < 6 || OW < 6) return 2;
  const f4 = 36 * Math.ceil(OH / 4) * Math.ceil(OW / 4);
  const f2 = 16 * Math.ceil(OH / 2) * Math.ceil(OW / 2);
  return f4 * 1.15 < f2 ? 4 : 2;
}

/** Tiles per block: an even number whose `positions` transformed inputs and outputs fit in `BLOCK_BYTES`. */
function tilesPerBlock(info: tf.backend_util.Conv2DInfo, tile: 2 | 4): number {
  const { batchSize: N, outHeight: OH, outWidth: OW, inChannels: C, outChannels: CO } = info;
  const tiles = N * Math.ceil(OH / tile) * Math.ceil(OW / tile);
  const positions = (tile + 2) ** 2;
  const fit = Math.floor(BLOCK_BYTES / (positions * 4 * (C + CO)));
  return Math.max(2, Math.min(fit, tiles + (tiles % 2)) & ~1);
}

/** Byte offsets of one call's scratch on the wasm heap (see `conv3x3-winograd.wat`). */
interface Scratch {
  /**
   * P·C·CO floats (P = 16 or 36 positions): the transformed filter (written by the filter transform), or the
   * transformed filter gradient (zeroed here when `zeroPlane`).
   */
  plane: number;
  /** P·(T·C + 16) floats: a block's transformed inputs. Positions are 64 bytes further apart than a block. */
  v: number;
  /** P·(T·CO + 16) floats: a block's products (forward) or transformed output gradients. */
  second: number;
  /**
   * max(C, CO) zero floats, read for inputs outside the image (F(2×2)), or 36·C + 16·CO floats for a border input
   * tile and a border output-gradient tile (F(4×4)).
   */
  zero: number;
  /** CO floats, written for outputs outside the image. */
  dump: number;
  /** Tiles per block. */
  T: number;
  /** The byte offset of a tensor's data on the heap. */
  ptr(t: tf.TensorInfo): number;
}

/**
 * Allocates `outShape` and one call's scratch on the backend's heap, runs `run` and frees the scratch. Returns
 * null when the kernel cannot run on this backend (no WebAssembly SIMD, or no access to its memory).
 */
function withScratch(
  backend: unknown,
  info: tf.backend_util.Conv2DInfo,
  outShape: number[],
  tile: 2 | 4,
  zeroPlane: boolean,
  run: (kernel: WinogradExports, out: tf.TensorInfo, s: Scratch) => void,
): tf.TensorInfo | null {
  const kernel = conv3x3WinogradFor(backend);
  if (kernel == null || !isWasmBackend(backend)) return null;
  const b: WasmBackendLike = backend;
  const { inChannels: C, outChannels: CO } = info;
  const T = tilesPerBlock(info, tile);
  const P = (tile + 2) ** 2;
  const sizes = [
    P * C * CO,
    P * (T * C + 16),
    P * (T * CO + 16),
    tile === 4 ? 36 * C + 16 * CO : Math.max(C, CO),
    CO,
  ];
  const out = b.makeOutput(outShape, 'float32');
  const scratch = b.makeOutput([sizes.reduce((x, y) => x + y, 0)], 'float32');
  try {
    // Pointers are taken after both allocations, which may have grown (and replaced) the heap's buffer.
    const heap = b.typedArrayFromHeap(scratch);
    const at = sizes.map((_, i) => sizes.slice(0, i).reduce((x, y) => x + y, 0));
    if (zeroPlane) heap.fill(0, 0, sizes[0]);
    heap.fill(0, at[3], at[3]! + sizes[3]!);
    const [plane, v, second, zero, dump] = at.map((floats) => heap.byteOffset + floats * 4) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const ptr = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset;
    run(kernel, out, { plane, v, second, zero, dump, T, ptr });
  } finally {
    b.disposeData(scratch.dataId);
  }
  return out;
}

/**
 * y = conv2d(x, filter) on the wasm backend by the Winograd kernel (F(4×4, 3×3) or F(2×2, 3×3), see
 * `winogradTile`), for a conv where `winogradApplies(info)`.
 * Returns null when the kernel cannot run on this backend (no WebAssembly SIMD, or no access to its memory).
 */
export function conv3x3Winograd(
  backend: unknown,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | null {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C } = info;
  const { outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { top, left } = info.padInfo;
  const tile = winogradTile(info);
  return withScratch(backend, info, [N, OH, OW, CO], tile, false, (kernel, y, s) => {
    const conv = tile === 4 ? kernel.conv6 : kernel.conv;
    (tile === 4 ? kernel.filterTransform6 : kernel.filterTransform)(s.ptr(filter), s.plane, C, CO);
    conv(s.ptr(x), s.plane, s.ptr(y), s.v, s.second, s.zero, s.dump, N, H, W, C, OH, OW, CO, top, left, s.T);
  });
}

/**
 * dW = the filter gradient of a conv where `winogradApplies(info)`, from its input x and output gradient dy, on
 * the wasm backend by the Winograd kernel (the adjoint of the forward algorithm, with the same tile size).
 * Returns null when the kernel cannot run on this backend.
 */
export function conv3x3FilterGradWinograd(
  backend: unknown,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | null {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C } = info;
  const { outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { top, left } = info.padInfo;
  const tile = winogradTile(info);
  return withScratch(backend, info, [3, 3, C, CO], tile, true, (kernel, dw, s) => {
    const filterGrad = tile === 4 ? kernel.filterGrad6 : kernel.filterGrad;
    filterGrad(
      s.ptr(x),
      s.ptr(dy),
      s.ptr(dw),
      s.plane,
      s.v,
      s.second,
      s.zero,
      N,
      H,
      W,
      C,
      OH,
      OW,
      CO,
      top,
      left,
      s.T,
    );
  });
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
