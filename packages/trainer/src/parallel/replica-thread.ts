// The thread behind each replica of a ParallelTrainer: sets up the tfjs backend, then answers requests.
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { ReplicaRequest } from './protocol.js';
import { createReplica } from './replica.js';

/** What the driving thread passes to each replica thread. */
export interface ReplicaWorkerData {
  /** The tfjs backend to train on, the same as the driving thread's. */
  readonly backend: string;
  /** See `ParallelTrainerOptions.setup`. */
  readonly setup?: ReplicaSetup;
}

/**
 * How a replica thread gets ready to train: a module (path or URL) whose default export,
 * `(options: { backend, ...options }) => Promise<void>`, makes `backend` the active tfjs backend with its
 * gradients registered, and registers any optimizer packages the run needs. `options` must be cloneable.
 */
export interface ReplicaSetup {
  readonly module: string;
  readonly options?: Record<string, unknown>;
}

async function setUp({ backend, setup }: ReplicaWorkerData): Promise<void> {
  if (setup) {
    const url = /^[a-z]+:/i.test(setup.module) ? setup.module : pathToFileURL(setup.module).href;
    const loaded = (await import(url)) as { default?: (o: Record<string, unknown>) => Promise<void> };
    if (typeof loaded.default !== 'function')
      throw new Error(`${setup.module} has no default export to set up a replica thread`);
    await loaded.default({ ...setup.options, backend });
  } else {
    // Not a dependency of this package: data-parallel runs without a setup module need it installed.
    const specifier = '@gradsign/backends';
    let backends: { selectBackend(p: string[], o: object): Promise<unknown> };
    try {
      backends = await import(specifier);
    } catch {
      throw new Error(
        'replica threads set up their backend with @gradsign/backends: install it, or pass a setup module',
      );
    }
    await backends.selectBackend([backend], { onLog: () => {} });
  }
  if (tf.getBackend() !== backend)
    throw new Error(`a replica thread could not start the ${backend} backend (it got ${tf.getBackend()})`);
}

const port = parentPort;
if (!port) throw new Error('replica-thread.js runs as a worker thread of a ParallelTrainer');
const ready = setUp(workerData as ReplicaWorkerData);
const replica = createReplica();
port.on('message', (request: ReplicaRequest) => {
  ready
    .then(() => replica(request))
    .catch((error: Error) => ({ id: request.id, error: { name: error.name, message: error.message } }))
    .then((reply) => port.postMessage(reply));
});
