import type * as tf from '@tensorflow/tfjs-core';
import { type KernelBuild, wasmKernelBuild } from './relaxed-simd.js';

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

/** A kernel module's builds (base64): for an ordinary and a shared memory, and the same pair built with FMA. */
export interface WasmBuilds {
  readonly ordinary: string;
  readonly shared: string;
  /** The FMA build (relaxed SIMD), where the module has multiply-adds to fuse. */
  readonly fma?: { readonly ordinary: string; readonly shared: string };
}

/**
 * A WebAssembly module that imports the tfjs wasm backend's memory as `env.memory`, so its functions read and write
 * tensors in place. It comes in two builds (base64): one for an ordinary memory and one for the *shared* memory of
 * the threaded backend (cross-origin-isolated pages), because a memory import links only to a memory of its own
 * kind; kernels with multiply-adds have both again as an FMA build, used where {@link wasmKernelBuild} says 'fma'.
 * `compile` gives the module for a kind and build (default: the build in use; null without WebAssembly SIMD, or
 * relaxed SIMD for the FMA build); `bind` instantiates the build in use once per backend and gives its exports
 * (null when it cannot run there: not a wasm backend, no SIMD, or a wasm build that does not expose its memory);
 * `build` says which build `bind` gives now.
 */
export function moduleOnWasmHeap<Exports>(builds: WasmBuilds): {
  compile(shared: boolean, build?: KernelBuild): WebAssembly.Module | null;
  bind(backend: unknown): Exports | null;
  build(): KernelBuild;
} {
  const compiled = new Map<string, WebAssembly.Module | null>();
  const instances = new WeakMap<object, Map<KernelBuild, Exports | null>>();
  const build = (): KernelBuild => (builds.fma != null ? wasmKernelBuild() : 'portable');
  const compile = (shared: boolean, which: KernelBuild = build()): WebAssembly.Module | null => {
    const key = `${which}:${shared}`;
    const cached = compiled.get(key);
    if (cached !== undefined) return cached;
    let module: WebAssembly.Module | null = null;
    const pair = which === 'fma' ? builds.fma : builds;
    try {
      if (pair == null) throw new Error('no such build');
      const bin = atob(shared ? pair.shared : pair.ordinary);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      module = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      module = null;
    }
    compiled.set(key, module);
    return module;
  };
  const bind = (backend: unknown): Exports | null => {
    if (!isWasmBackend(backend)) return null;
    const which = build();
    const perBuild = instances.get(backend) ?? new Map<KernelBuild, Exports | null>();
    instances.set(backend, perBuild);
    const cached = perBuild.get(which);
    if (cached !== undefined) return cached;
    let exports: Exports | null = null;
    const memory = heapMemory(backend);
    if (memory != null) {
      const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
      const module = compile(shared, which);
      if (module != null) {
        try {
          exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
        } catch {
          exports = null;
        }
      }
    }
    perBuild.set(which, exports);
    return exports;
  };
  return { compile, bind, build };
}
