import * as tf from '@tensorflow/tfjs-core';

type Shape4D = [number, number, number, number];
type Strides = number | [number, number];
type PoolPad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

interface MaxPoolGradAttrs {
  filterSize: Strides;
  strides: Strides;
  pad: PoolPad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The part of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

function isWasmBackend(b: unknown): b is WasmBackendLike {
  const o = b as Partial<WasmBackendLike> | null;
  return o != null && typeof o.makeOutput === 'function' && typeof o.typedArrayFromHeap === 'function';
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

/**
 * Replacement for the wasm backend's MaxPoolGrad kernel. The stock kernel (4.22) starts its running maximum at
 * numeric_limits<float>::min() — the smallest POSITIVE float — so a window whose values are all ≤ 0 gets no
 * gradient at all, and it breaks ties on the last maximum where cpu takes the first. This kernel reads the
 * tensors in place from the wasm heap and runs `maxPoolBackprop`.
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
    dxv.fill(0);
    maxPoolBackprop(backend.typedArrayFromHeap(input), backend.typedArrayFromHeap(dy), dxv, info);
    return out;
  };
}
