import { selectBackend } from '@gradsign/backends';
import * as tf from '@tensorflow/tfjs-core';

const ready = new Map<string, Promise<unknown>>();

/** Switches to `name` through @gradsign/backends (gradients registered, training fixes installed). */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (!ready.has(name)) ready.set(name, selectBackend([name], { onLog: () => {} }));
  await ready.get(name);
  if (!(await tf.setBackend(name)) || tf.getBackend() !== name)
    throw new Error(`backend ${name} is not available`);
}
