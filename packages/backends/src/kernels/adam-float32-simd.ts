// Types only: this package does not depend on optim-core at run time; the kernel's attrs carry the constants.
import type { AdamFloat32Attrs } from '@gradsign/optim-core';
import type * as tf from '@tensorflow/tfjs-core';
import { ADAM_FLOAT32_SHARED_WASM_BASE64, ADAM_FLOAT32_WASM_BASE64 } from './generated/adam-float32-wasm.js';
import { isWasmBackend, moduleOnWasmHeap, type WasmBackendLike } from './wasm-heap.js';

/**
 * The name of optim-core's fused Adam step on float32 moments (`ADAM_FLOAT32_KERNEL`), with inputs `param`, `grad`,
 * `m`, `v` and the attr `constants`. optim-core registers it with a JavaScript loop on cpu and wasm; on wasm the
 * `adam-simd` fix replaces that loop by adam-float32.wat. A test holds the two names equal.
 */
export const ADAM_FLOAT32 = 'AdamFloat32Update';

interface AdamFloat32Exports {
  adamFloat32(...args: number[]): void;
}

const kernel = moduleOnWasmHeap<AdamFloat32Exports>({
  ordinary: ADAM_FLOAT32_WASM_BASE64,
  shared: ADAM_FLOAT32_SHARED_WASM_BASE64,
});

/** The module bound to this backend's memory, or null where it cannot run (see `moduleOnWasmHeap`). */
export const adamFloat32SimdFor = kernel.bind;

/**
 * Replacement for optim-core's wasm Adam kernel on float32 moments (a JavaScript loop on the wasm heap): the same
 * step as WebAssembly SIMD, bit-identical (see adam-float32.wat). Where the module cannot run, it calls the kernel it
 * replaced.
 */
export function wasmAdamFloat32Kernel(fallback: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown;
    const i = args.inputs as Record<'param' | 'grad' | 'm' | 'v', tf.TensorInfo>;
    const simd = isWasmBackend(backend) ? adamFloat32SimdFor(backend) : null;
    if (simd == null || [i.param, i.grad, i.m, i.v].some((t) => t.dtype !== 'float32')) {
      if (fallback == null) throw new Error('adam-simd fix: the JavaScript Adam kernel is missing');
      return fallback(args);
    }
    const k = (args.attrs as unknown as AdamFloat32Attrs).constants;
    const wasm = backend as WasmBackendLike;
    // Allocate first: allocation may grow the heap, which moves nothing but detaches views taken earlier.
    const outs = [0, 1, 2].map(() => wasm.makeOutput(i.param.shape, 'float32'));
    const ptr = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t).byteOffset;
    simd.adamFloat32(
      ptr(i.param),
      ptr(i.grad),
      ptr(i.m),
      ptr(i.v),
      ...outs.map(ptr),
      i.param.shape.reduce((a, b) => a * b, 1),
      k.beta1,
      k.oneMinusBeta1,
      k.beta2,
      k.oneMinusBeta2,
      k.stepSize,
      k.correction2,
      k.epsilon,
      k.decays ? 1 : 0,
      k.decay,
      k.l2s ? 1 : 0,
      k.l2,
    );
    return outs;
  };
}
