import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

/** The backends every Node test environment has: tfjs-node is optional and not installable offline. */
export const NODE_BACKENDS = ['cpu', 'wasm'] as const;

/** Switches to `name` and waits until it is ready; throws if it cannot initialise. */
export async function useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend '${name}' failed to initialise`);
  await tf.ready();
}
