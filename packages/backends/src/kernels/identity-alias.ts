import * as tf from '@tensorflow/tfjs-core';

/**
 * Identity on the wasm backend without a copy. tfjs's engine runs Identity (`clone`) on every tensor a kernel
 * saves for its gradient while a gradient tape records, and the stock wasm kernel copies the data; in a training
 * step of the reference CNN that is 26 copies of activations (4 at 28×28, 8 at 14×14, 8 at 7×7, 6 at 3×3). This kernel returns the input's data with
 * its reference count raised, as the cpu backend's Identity and the wasm backend's own Reshape do: no backend
 * kernel writes into its inputs, so the values are the same bits and nothing else changes. Strings keep the stock
 * kernel.
 */

/** The part of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmBackendLike {
  incRef(dataId: tf.DataId): void;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

function isWasmBackend(b: unknown): b is WasmBackendLike {
  const o = b as Partial<WasmBackendLike> | null;
  return o != null && typeof o.incRef === 'function' && typeof o.typedArrayFromHeap === 'function';
}

let stockIdentity: tf.KernelConfig | undefined;
let aliasIdentity: tf.KernelConfig | undefined;

function aliasKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const backend = args.backend as unknown;
    if (x.dtype === 'string' || !isWasmBackend(backend)) return fallback(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

/** Replaces the wasm backend's Identity kernel by the copy-free one. Idempotent; no-op before wasm registers. */
export function installWasmIdentityAlias(): void {
  const current = tf.getKernel(tf.Identity, 'wasm');
  if (current == null || current === aliasIdentity) return;
  stockIdentity = current;
  aliasIdentity = {
    kernelName: tf.Identity,
    backendName: 'wasm',
    kernelFunc: aliasKernel(current.kernelFunc),
  };
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel(aliasIdentity);
}

/** Puts the stock (copying) wasm Identity kernel back. */
export function removeWasmIdentityAlias(): void {
  if (stockIdentity == null || tf.getKernel(tf.Identity, 'wasm') !== aliasIdentity) return;
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel(stockIdentity);
}

/** Whether the copy-free Identity is the registered wasm kernel. */
export function wasmIdentityAliasActive(): boolean {
  return aliasIdentity != null && tf.getKernel(tf.Identity, 'wasm') === aliasIdentity;
}
