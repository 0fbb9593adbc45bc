// Sets up a replica thread of a data-parallel run (`--workers`): the main thread's backend, and the optimizer
// packages it imported, so the replicas build the same optimizer, and its build of the wasm kernels.
import { selectBackend } from '@gradsign/backends';
import * as tf from '@tensorflow/tfjs-core';

export default async function setUpReplica(options: {
  backend: string;
  modules?: readonly string[];
  kernels?: 'auto' | 'portable';
}): Promise<void> {
  tf.env().set('PROD', true); // no "install tfjs-node" banner from each thread
  for (const url of options.modules ?? []) await import(url);
  await selectBackend([options.backend], { onLog: () => {}, kernels: options.kernels ?? 'auto' });
}
