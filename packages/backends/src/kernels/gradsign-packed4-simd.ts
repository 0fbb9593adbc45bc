import type * as tf from '@tensorflow/tfjs-core';
import {
  GRADSIGN_PACKED4_SHARED_WASM_BASE64,
  GRADSIGN_PACKED4_WASM_BASE64,
} from './generated/gradsign-packed4-wasm.js';
import { isWasmBackend, moduleOnWasmHeap, type WasmBackendLike } from './wasm-heap.js';

/**
 * The name of optim-core's fused GradSign kernel (`GRADSIGN_PACKED4_KERNEL` in `@gradsign/optim-core`): a step over
 * counters packed 4 to an int32 word, with inputs `param`, `grad`, `words` and attrs `learningRate`, `timescale`,
 * `increment`, `scale`, `zeroGradient`. optim-core registers it with a JavaScript loop on cpu and wasm; on wasm the
 * `gradsign-simd` fix replaces that loop by gradsign-packed4.wat. A test holds the two names equal.
 */
export const GRADSIGN_PACKED4 = 'GradSignPacked4Update';

interface GradSignPacked4Exports {
  gradSignPacked4(
    param: number,
    grad: number,
    words: number,
    outParam: number,
    outWords: number,
    n: number,
    m: number,
    lr: number,
    scale: number,
    shift: number,
    half: number,
    k: number,
    zeroPushes: number,
    bytewise: number,
  ): void;
}

interface GradSignPacked4Attrs {
  learningRate: number;
  timescale: number;
  increment: number;
  scale: number;
  zeroGradient: 'negative' | 'zero';
}

const kernel = moduleOnWasmHeap<GradSignPacked4Exports>({
  ordinary: GRADSIGN_PACKED4_WASM_BASE64,
  shared: GRADSIGN_PACKED4_SHARED_WASM_BASE64,
});

/**
 * The SIMD GradSign step bound to this backend's memory, or null when it cannot run there: not a wasm backend, no
 * WebAssembly SIMD, or a wasm build that does not expose its memory.
 */
export const gradSignPacked4SimdFor = kernel.bind;

const isPowerOfTwo = (x: number) => Number.isInteger(x) && x > 0 && (x & (x - 1)) === 0;

const bytewiseCache = new Map<string, boolean>();
/**
 * Whether the module's bytewise loop computes the counter rule for timescale T (a power of two) and increment k
 * exactly: it takes the decay in 16-bit lanes (for T up to 64) and narrows it back to bytes, then adds the push in
 * 8 bits, so every int8 counter (any byte, not only the range GradSign keeps them in: a loaded state may hold
 * anything) must step to an int8 counter.
 */
export function bytewiseExact(timescale: number, increment: number): boolean {
  const key = `${timescale}/${increment}`;
  let exact = bytewiseCache.get(key);
  if (exact === undefined) {
    const shift = Math.log2(timescale);
    const half = timescale >> 1;
    exact = shift <= 6 && increment >= 0 && increment <= 127;
    for (let c = -128; exact && c <= 127; c++) {
      const decayed = c - ((c + half) >> shift);
      exact = decayed - increment >= -128 && decayed + increment <= 127;
    }
    bytewiseCache.set(key, exact);
  }
  return exact;
}

/** Whether the float32 product of `a` and `b` is exact (float32 values multiply exactly in doubles). */
const exactProduct = (a: number, b: number) => Math.fround(a * b) === a * b;

/**
 * Replacement for optim-core's wasm GradSign kernel (a JavaScript loop on the wasm heap): the same step as
 * WebAssembly SIMD, bit-identical (see gradsign-packed4.wat). Where the module cannot run, or for attrs outside
 * what the module computes exactly (a timescale that is not a power of two, a scale that is not a float32 value),
 * it calls the JavaScript kernel it replaced.
 */
export function wasmGradSignPacked4Kernel(fallback: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown;
    const { param, grad, words } = args.inputs as Record<'param' | 'grad' | 'words', tf.TensorInfo>;
    const { learningRate, timescale, increment, scale, zeroGradient } =
      args.attrs as unknown as GradSignPacked4Attrs;
    const simd = isWasmBackend(backend) ? gradSignPacked4SimdFor(backend) : null;
    const exact = isPowerOfTwo(timescale) && Math.fround(scale) === scale && Number.isInteger(increment);
    if (simd == null || !exact || param.dtype !== 'float32' || grad.dtype !== 'float32') {
      if (fallback == null) throw new Error('gradsign-simd fix: the JavaScript GradSign kernel is missing');
      return fallback(args);
    }
    const wasm = backend as WasmBackendLike;
    // Allocate first: allocation may grow the heap, which moves nothing but detaches views taken earlier.
    const outParam = wasm.makeOutput(param.shape, 'float32');
    const outWords = wasm.makeOutput(words.shape, 'int32');
    const ptr = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t).byteOffset;
    simd.gradSignPacked4(
      ptr(param),
      ptr(grad),
      ptr(words),
      ptr(outParam),
      ptr(outWords),
      param.shape.reduce((a, b) => a * b, 1),
      words.shape[0] ?? 0,
      Math.fround(learningRate),
      scale,
      Math.log2(timescale),
      timescale >> 1,
      increment,
      zeroGradient === 'negative' ? 1 : 0,
      bytewiseExact(timescale, increment) && exactProduct(scale, Math.fround(learningRate)) ? 1 : 0,
    );
    return [outParam, outWords];
  };
}
