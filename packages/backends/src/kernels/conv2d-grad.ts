import * as tf from '@tensorflow/tfjs-core';
import { stockGradConfig } from '../gradients.js';
import { conv2dFilterGradViaSimd } from './conv-filter-grad-simd.js';
import { rotateFilter } from './rotate-filter.js';

type Shape4D = [number, number, number, number];
type Strides = number | [number, number];
/** Padding as the Conv2D kernel records it: 'same', 'valid', a number or explicit NHWC pairs. */
export type Conv2DPad = Parameters<typeof tf.conv2d>[3];
type RoundingMode = 'floor' | 'round' | 'ceil';

/** How a backend computes the input gradient of conv2d under the fix. */
export type InputGradMethod = 'conv2d' | 'stock';

interface Conv2DAttrs {
  strides: Strides;
  pad: Conv2DPad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: Strides;
  dimRoundingMode?: RoundingMode;
}

function allOnes(v: Strides | undefined): boolean {
  return v == null || (Array.isArray(v) ? v.every((d) => d === 1) : v === 1);
}

/**
 * Filter gradient of a NHWC conv2d (dilation 1), computed as one conv2d.
 *
 * dW[i, j, ci, co] = sum over n, oh, ow of xPadded[n, oh·s + i, ow·s + j, ci] · dy[n, oh, ow, co]. That is a
 * convolution of x, transposed to [ci, H, W, n], with dy, transposed to [oh, ow, n, co] and dilated by the
 * forward stride. It yields [ci, kh, kw, co], transposed back to [kh, kw, ci, co].
 */
export function conv2dFilterGradViaConv(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: Shape4D,
  strides: Strides,
  pad: Conv2DPad,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
    const { top, left } = info.padInfo;
    const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
    // Bottom/right padding that makes the output exactly kh x kw. It is negative when the forward pass never
    // read the last rows or columns (e.g. 'valid' with a stride that does not divide evenly): crop those.
    let bottom = kh + (oh - 1) * sh - h - top;
    let right = kw + (ow - 1) * sw - w - left;
    let xc: tf.Tensor4D = x;
    if (bottom < 0 || right < 0) {
      xc = tf.slice(x, [0, 0, 0, 0], [-1, bottom < 0 ? h + bottom : h, right < 0 ? w + right : w, -1]);
      bottom = Math.max(bottom, 0);
      right = Math.max(right, 0);
    }
    const xt = tf.transpose(xc, [3, 1, 2, 0]);
    const dyt = tf.transpose(dy, [1, 2, 0, 3]);
    const pads: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ];
    const g = tf.conv2d(xt, dyt, 1, pads, 'NHWC', [sh, sw]);
    return tf.transpose(g, [1, 2, 0, 3]);
  });
}

/**
 * Filter gradient of a NHWC conv2d with stride 1 and dilation 1, as one matMul: the rows of im2col(x)ᵀ,
 * [kh·kw·ci, n·oh·ow] (x transposed to [ci, n, H, W], padded, and sliced once per filter tap), times dy as
 * [n·oh·ow, co]. Building im2col(x)ᵀ copies x kh·kw times, so this only pays off when ci is small: on wasm,
 * for the reference CNN's first layer (ci = 1), it is about 5x faster than the convolution form, and about 2x
 * slower at ci = 32. Returns null for strides above 1.
 */
export function conv2dFilterGradViaMatMul(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: Shape4D,
  strides: Strides,
  pad: Conv2DPad,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D | null {
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return null;
  const { top, left } = info.padInfo;
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, inChannels: ci, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw } = info;
  // Rows or columns past the last window (negative padding) are simply never sliced.
  const bottom = Math.max(kh + oh - 1 - h - top, 0);
  const right = Math.max(kw + ow - 1 - w - left, 0);
  return tf.tidy(() => {
    const xt = tf.pad(tf.transpose(x, [3, 0, 1, 2]), [
      [0, 0],
      [0, 0],
      [top, bottom],
      [left, right],
    ]);
    const rows: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        rows.push(tf.reshape(tf.slice(xt, [0, 0, i, j], [ci, -1, oh, ow]), [ci, -1]));
      }
    }
    const cols = rows.length === 1 ? rows[0]! : tf.concat(rows, 0);
    const g = tf.matMul(cols as tf.Tensor2D, tf.reshape(dy, [-1, co]) as tf.Tensor2D);
    return tf.reshape(g, [kh, kw, ci, co]) as tf.Tensor4D;
  });
}

/**
 * Input gradient of a NHWC conv2d with stride 1 and dilation 1, computed as one conv2d: dy, padded by
 * (k − 1 − forward padding) on each side, convolved with the filter rotated by 180° and with its channel axes
 * swapped. Returns null when that form does not apply (stride > 1, or forward padding larger than k − 1); the
 * caller then uses the stock Conv2DBackpropInput kernel.
 */
export function conv2dInputGradViaConv(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  xShape: Shape4D,
  strides: Strides,
  pad: Conv2DPad,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D | null {
  const info = tf.backend_util.computeConv2DInfo(xShape, filter.shape, strides, 1, pad, dimRoundingMode);
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return null;
  const { top, bottom, left, right } = info.padInfo;
  const { filterHeight: kh, filterWidth: kw } = info;
  const pads: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [kh - 1 - top, kh - 1 - bottom],
    [kw - 1 - left, kw - 1 - right],
    [0, 0],
  ];
  if (pads.some(([a, b]) => a < 0 || b < 0)) return null;
  return tf.tidy(() => {
    // transpose(reverse(filter, [0, 1]), [0, 1, 3, 2]): one copy on wasm, whose Reverse kernel is slow.
    const rotated = rotateFilter(filter);
    return tf.conv2d(dy, rotated, 1, pads);
  });
}

/** Backends on which the conv gradient fix is active, with their input-gradient method. */
const activeBackends = new Map<string, InputGradMethod>();
/**
 * Per backend, the largest input-channel count for which the filter gradient uses the matMul form (0: never).
 */
const matMulFilterGradMaxChannels = new Map<string, number>();
/** Backends whose filter gradients use the WebAssembly SIMD kernel where it applies. */
const simdFilterGradBackends = new Set<string>();

/** Filter gradients of convs with at most `maxInChannels` input channels use the matMul form on a backend. */
export function setConvFilterGradMatMul(backendName: string, maxInChannels: number): void {
  matMulFilterGradMaxChannels.set(backendName, maxInChannels);
}

/**
 * Whether filter gradients on a backend use the WebAssembly SIMD kernel (`conv2dFilterGradViaSimd`) where it
 * applies; it only runs on tfjs's wasm backend. Otherwise, and where it does not apply, they use the matMul or
 * the conv2d form.
 */
export function setConvFilterGradSimd(backendName: string, enabled: boolean): void {
  if (enabled) simdFilterGradBackends.add(backendName);
  else simdFilterGradBackends.delete(backendName);
}

function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4D, attrs: Conv2DAttrs): tf.Tensor4D {
  const backend = tf.getBackend();
  if (simdFilterGradBackends.has(backend)) {
    const viaSimd = conv2dFilterGradViaSimd(
      x,
      dy,
      filterShape,
      attrs.strides,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    if (viaSimd != null) return viaSimd;
  }
  if (filterShape[2] <= (matMulFilterGradMaxChannels.get(backend) ?? 0)) {
    const viaMatMul = conv2dFilterGradViaMatMul(
      x,
      dy,
      filterShape,
      attrs.strides,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    if (viaMatMul != null) return viaMatMul;
  }
  return conv2dFilterGradViaConv(x, dy, filterShape, attrs.strides, attrs.pad, attrs.dimRoundingMode);
}

export function setConvGradBackend(backendName: string, method: InputGradMethod | null): void {
  if (method == null) activeBackends.delete(backendName);
  else activeBackends.set(backendName, method);
}

export function convGradMethod(backendName: string): InputGradMethod | undefined {
  return activeBackends.get(backendName);
}

function requireStock(kernelName: string): tf.GradConfig {
  const config = stockGradConfig(kernelName);
  if (config == null) throw new Error(`tfjs-core has no stock gradient for ${kernelName}`);
  return config;
}

/** Whether the fast form handles these attributes: NHWC and no dilation. Anything else goes to tfjs's code. */
function handles(attrs: Conv2DAttrs): boolean {
  return (attrs.dataFormat == null || attrs.dataFormat === 'NHWC') && allOnes(attrs.dilations);
}

function inputGrad(
  method: InputGradMethod,
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  xShape: Shape4D,
  attrs: Conv2DAttrs,
  stock: () => tf.Tensor,
): tf.Tensor {
  if (method === 'conv2d') {
    const viaConv = conv2dInputGradViaConv(
      dy,
      filter,
      xShape,
      attrs.strides,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    if (viaConv != null) return viaConv;
  }
  return stock();
}

/**
 * Conv2D gradient that expresses both gradients as conv2d calls on the backends where the fix is active, and
 * defers to tfjs-core's stock gradient everywhere else. Gradient configs are global in tfjs, so the active
 * backend is checked on every call.
 */
export const conv2DGradConfig: tf.GradConfig = {
  kernelName: tf.Conv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const stock = requireStock(tf.Conv2D);
    const a = attrs as unknown as Conv2DAttrs;
    const method = activeBackends.get(tf.getBackend());
    if (method == null || !handles(a)) return stock.gradFunc(dy, saved, attrs);
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const dy4 = dy as tf.Tensor4D;
    return {
      x: () => inputGrad(method, dy4, filter, x.shape, a, () => stock.gradFunc(dy, saved, attrs).x!()),
      filter: () => filterGrad(x, dy4, filter.shape, a),
    };
  },
};

/**
 * Gradient of Conv2DBackpropInput (the kernel behind conv2dTranspose). Its filter gradient is also a
 * Conv2DBackpropFilter, so it gets the same treatment.
 */
export const conv2DBackpropInputGradConfig: tf.GradConfig = {
  kernelName: tf.Conv2DBackpropInput,
  inputsToSave: ['dy', 'filter'],
  gradFunc: (ddx, saved, attrs) => {
    const stock = requireStock(tf.Conv2DBackpropInput);
    const a = attrs as unknown as Conv2DAttrs;
    const method = activeBackends.get(tf.getBackend());
    if (method == null || !handles(a)) return stock.gradFunc(ddx, saved, attrs);
    const [dy, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const ddx4 = ddx as tf.Tensor4D;
    return {
      dy: () => tf.conv2d(ddx4, filter, a.strides, a.pad, 'NHWC', 1, a.dimRoundingMode),
      filter: () => filterGrad(ddx4, dy, filter.shape, a),
    };
  },
};
