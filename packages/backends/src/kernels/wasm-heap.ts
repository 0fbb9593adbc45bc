import type * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-wasm's BackendWasm (and its emscripten module) the wasm kernels use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  wasm?: {
    asm?: { memory?: unknown };
    wasmMemory?: unknown;
    _malloc?: (bytes: number) => number;
    _free?: (ptr: number) => void;
  };
}

export function isWasmBackend(b: unknown): b is WasmBackendLike {
  const o = b as Partial<WasmBackendLike> | null;
  return o != null && typeof o.makeOutput === 'function' && typeof o.typedArrayFromHeap === 'function';
}

/** The backend's WebAssembly memory (its heap), or null when its wasm build does not expose it. */
export function heapMemory(backend: WasmBackendLike): WebAssembly.Memory | null {
  const m = backend.wasm;
  const memory = m?.asm?.memory ?? m?.wasmMemory;
  return typeof WebAssembly === 'object' && memory instanceof WebAssembly.Memory ? memory : null;
}

/** Scratch memory on the backend's heap (its emscripten malloc and free), or null where they are not exposed. */
export function heapScratch(
  backend: WasmBackendLike,
): { malloc(bytes: number): number; free(ptr: number): void } | null {
  const m = backend.wasm;
  if (typeof m?._malloc !== 'function' || typeof m._free !== 'function') return null;
  return { malloc: m._malloc.bind(m), free: m._free.bind(m) };
}

/**
 * A WebAssembly module that imports the tfjs wasm backend's memory as `env.memory`, so its functions read and write
 * tensors in place. It comes in two builds (base64): one for an ordinary memory and one for the *shared* memory of
 * the threaded backend (cross-origin-isolated pages), because a memory import links only to a memory of its own
 * kind. `compile` gives the module for a kind (null without WebAssembly SIMD); `bind` instantiates it once per
 * backend and gives its exports (null when it cannot run there: not a wasm backend, no SIMD, or a wasm build that
 * does not expose its memory).
 */
export function moduleOnWasmHeap<Exports>(builds: { readonly ordinary: string; readonly shared: string }): {
  compile(shared: boolean): WebAssembly.Module | null;
  bind(backend: unknown): Exports | null;
} {
  const compiled = new Map<boolean, WebAssembly.Module | null>();
  const instances = new WeakMap<object, Exports | null>();
  const compile = (shared: boolean): WebAssembly.Module | null => {
    const cached = compiled.get(shared);
    if (cached !== undefined) return cached;
    let module: WebAssembly.Module | null = null;
    try {
      const bin = atob(shared ? builds.shared : builds.ordinary);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      module = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      module = null;
    }
    compiled.set(shared, module);
    return module;
  };
  const bind = (backend: unknown): Exports | null => {
    if (!isWasmBackend(backend)) return null;
    const cached = instances.get(backend);
    if (cached !== undefined) return cached;
    let exports: Exports | null = null;
    const memory = heapMemory(backend);
    if (memory != null) {
      const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
      const module = compile(shared);
      if (module != null) {
        try {
          exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
        } catch {
          exports = null;
        }
      }
    }
    instances.set(backend, exports);
    return exports;
  };
  return { compile, bind };
}
