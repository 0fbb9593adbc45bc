import type * as tf from '@tensorflow/tfjs-core';
import { LION_BF16_SHARED_WASM_BASE64, LION_BF16_WASM_BASE64 } from './generated/lion-bf16-wasm.js';
import { isWasmBackend, moduleOnWasmHeap, type WasmBackendLike } from './wasm-heap.js';

/**
 * The name of optim-lion's fused Lion kernel for bf16 momentum (`LION_BF16_KERNEL` in `@gradsign/optim-lion`), with
 * inputs `param`, `grad`, `words` (two bf16 patterns to an int32 word, planar) and the attr `hyper` (learningRate,
 * beta1, beta2, weightDecay). optim-lion registers it with a JavaScript loop on cpu and wasm; on wasm the
 * `lion-simd` fix replaces that loop by lion-bf16.wat. A test holds the two names equal.
 */
export const LION_BF16 = 'LionBf16Update';

interface LionBf16Exports {
  lionBf16(
    param: number,
    grad: number,
    words: number,
    outParam: number,
    outWords: number,
    n: number,
    m: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    lr: number,
    decays: number,
    decay: number,
  ): void;
}

interface LionHyper {
  learningRate: number;
  beta1: number;
  beta2: number;
  weightDecay: number;
}

const kernel = moduleOnWasmHeap<LionBf16Exports>({
  ordinary: LION_BF16_WASM_BASE64,
  shared: LION_BF16_SHARED_WASM_BASE64,
});

/**
 * The SIMD Lion bf16 step bound to this backend's memory, or null when it cannot run there: not a wasm backend, no
 * WebAssembly SIMD, or a wasm build that does not expose its memory.
 */
export const lionBf16SimdFor = kernel.bind;

/**
 * Replacement for optim-lion's wasm bf16 Lion kernel (a JavaScript loop on the wasm heap): the same step as
 * WebAssembly SIMD, bit-identical (see lion-bf16.wat). Where the module cannot run, it calls the kernel it replaced.
 */
export function wasmLionBf16Kernel(fallback: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown;
    const { param, grad, words } = args.inputs as Record<'param' | 'grad' | 'words', tf.TensorInfo>;
    const simd = isWasmBackend(backend) ? lionBf16SimdFor(backend) : null;
    if (simd == null || param.dtype !== 'float32' || grad.dtype !== 'float32') {
      if (fallback == null) throw new Error('lion-simd fix: the JavaScript Lion kernel is missing');
      return fallback(args);
    }
    const h = (args.attrs as unknown as { hyper: LionHyper }).hyper;
    const wasm = backend as WasmBackendLike;
    // Allocate first: allocation may grow the heap, which detaches views taken earlier.
    const outParam = wasm.makeOutput(param.shape, 'float32');
    const outWords = wasm.makeOutput(words.shape, 'int32');
    const ptr = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t).byteOffset;
    // The rule's constants as optim-lion's loop rounds them (float32 parameters round as Math.fround does).
    simd.lionBf16(
      ptr(param),
      ptr(grad),
      ptr(words),
      ptr(outParam),
      ptr(outWords),
      param.shape.reduce((a, b) => a * b, 1),
      words.shape[0] ?? 0,
      h.beta1,
      1 - h.beta1,
      h.beta2,
      1 - h.beta2,
      h.learningRate,
      h.weightDecay !== 0 ? 1 : 0,
      h.weightDecay !== 0 ? 1 - h.learningRate * h.weightDecay : 1,
    );
    return [outParam, outWords];
  };
}
