// A replica of a data-parallel run (threads > 1): the training worker starts one of these Web Workers per replica.
// Its first message sets up the same backend as the training worker's (with the same kernel build, and one wasm
// thread: the replicas are the threads); every later message is a replica request, answered by `createReplica`.
import { selectBackend } from '@gradsign/backends';
import { createReplica, type ReplicaRequest } from '@gradsign/trainer';
import './optimizers';
import { wasmPaths } from './wasm-paths';

/** The set-up message, sent once before any request. */
export interface ReplicaSetupMessage {
  setup: { backend: string; kernels: 'auto' | 'portable' };
}

let ready: Promise<unknown> | undefined;
const replica = createReplica();

self.onmessage = (event: MessageEvent<ReplicaSetupMessage | ReplicaRequest>) => {
  const message = event.data;
  if ('setup' in message) {
    const { backend, kernels } = message.setup;
    ready = selectBackend([backend], {
      wasmPaths: wasmPaths(),
      kernels,
      wasmThreads: 1,
      onLog: () => {},
    }).then((s) => {
      if (s.backend !== backend)
        throw new Error(`a replica worker could not start the ${backend} backend (it got ${s.backend})`);
    });
    return;
  }
  (ready ?? Promise.reject(new Error('a replica worker got a request before its set-up')))
    .then(() => replica(message))
    .catch((error: Error) => ({ id: message.id, error: { name: error.name, message: error.message } }))
    .then((reply) => self.postMessage(reply));
};
