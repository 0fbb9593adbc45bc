import * as tf from '@tensorflow/tfjs-core';
import { isWasmBackend } from './wasm-heap.js';

/**
 * A conv filter [kh, kw, ci, co] rotated by 180° in its spatial axes and with its channel axes swapped:
 * out[a, b, j, i] = filter[kh − 1 − a, kw − 1 − b, i, j], the filter of the conv that computes a conv2d's input
 * gradient. It is `tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2])` in one pass; a permutation of the
 * elements, so the values are the same bits. On the wasm backend, where the stock Reverse kernel costs far more
 * than the copy, it runs as this plain-JS kernel reading and writing the wasm heap in place.
 */
export const ROTATE_FILTER = 'RotateFilter180';

type Shape4D = [number, number, number, number];

/** out[a, b, j, i] = src[kh − 1 − a, kw − 1 − b, i, j] for a filter of shape [kh, kw, ci, co]. */
export function rotateFilterInto(src: ArrayLike<number>, out: tf.TypedArray, shape: Shape4D): void {
  const [kh, kw, ci, co] = shape;
  const plane = ci * co;
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const s = ((kh - 1 - a) * kw + (kw - 1 - b)) * plane;
      const o = (a * kw + b) * plane;
      for (let j = 0; j < co; j++) {
        const oj = o + j * ci;
        for (let i = 0; i < ci; i++) out[oj + i] = src[s + i * co + j]!;
      }
    }
  }
}

const kernelFunc: tf.KernelFunc = ({ inputs, backend }) => {
  const { filter } = inputs as { filter: tf.TensorInfo };
  if (!isWasmBackend(backend)) throw new Error(`${ROTATE_FILTER} runs on the wasm backend only`);
  const [kh, kw, ci, co] = filter.shape as Shape4D;
  const out = backend.makeOutput([kh, kw, co, ci], filter.dtype);
  // The source view is taken after makeOutput: allocating may grow (and so detach) the wasm heap.
  rotateFilterInto(backend.typedArrayFromHeap(filter), backend.typedArrayFromHeap(out), [kh, kw, ci, co]);
  return out;
};

/** The rotation is its own inverse (up to the shape), so its gradient is the rotation of the upstream gradient. */
const gradConfig: tf.GradConfig = {
  kernelName: ROTATE_FILTER,
  gradFunc: (dy) => ({ filter: () => rotateFilter(dy as tf.Tensor4D) }),
};

function ensureRegistered(): void {
  if (tf.getKernel(ROTATE_FILTER, 'wasm') == null) {
    tf.registerKernel({ kernelName: ROTATE_FILTER, backendName: 'wasm', kernelFunc });
  }
  if (tf.getGradient(ROTATE_FILTER) == null) tf.registerGradient(gradConfig);
}

/**
 * `tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2])`, as one copy on the wasm backend (float32 or int32) and
 * as those two ops elsewhere.
 */
export function rotateFilter(filter: tf.Tensor4D): tf.Tensor4D {
  if (
    tf.getBackend() === 'wasm' &&
    isWasmBackend(tf.backend()) &&
    (filter.dtype === 'float32' || filter.dtype === 'int32')
  ) {
    ensureRegistered();
    return tf.engine().runKernel(ROTATE_FILTER, { filter }) as tf.Tensor4D;
  }
  return tf.tidy(() => tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]));
}
