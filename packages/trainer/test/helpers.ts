import { selectBackend } from '@gradsign/backends';
import * as tf from '@tensorflow/tfjs-core';

const ready = new Map<string, Promise<unknown>>();

/**
 * Switches to `name` through @gradsign/backends (gradients registered, training fixes installed). `kernels`
 * chooses the wasm SIMD kernels' build ('auto': FMA where the engine has relaxed SIMD).
 */
export async function useBackend(name: 'cpu' | 'wasm', kernels: 'auto' | 'portable' = 'auto'): Promise<void> {
  const key = `${name}/${kernels}`;
  if (!ready.has(key)) ready.set(key, selectBackend([name], { onLog: () => {}, kernels }));
  await ready.get(key);
  if (!(await tf.setBackend(name)) || tf.getBackend() !== name)
    throw new Error(`backend ${name} is not available`);
}
