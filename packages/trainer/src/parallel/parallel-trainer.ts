import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { Checkpoint } from '../checkpoint.js';
import {
  type DataParallelOptions,
  DataParallelTrainer,
  type ReplicaChannel,
  type SpawnReplica,
} from '../data-parallel.js';
import type { ReplicaSetup, ReplicaWorkerData } from './replica-thread.js';

/** Options of `ParallelTrainer.create`: the run, its data, the number of replica threads and their backend. */
export interface ParallelTrainerOptions extends Omit<DataParallelOptions, 'spawn' | 'backend'> {
  /** The tfjs backend every replica trains on (default: this thread's active backend). */
  readonly backend?: string;
  /**
   * How each replica thread sets up the backend (and registers optimizer packages): see `ReplicaSetup`. Default:
   * `selectBackend([backend])` of `@gradsign/backends`, which must then be installed.
   */
  readonly setup?: ReplicaSetup;
}

/** A Node worker thread as a replica channel. */
function workerChannel(worker: Worker): ReplicaChannel {
  return {
    post: (request) => worker.postMessage(request),
    onMessage: (handler) => worker.on('message', handler),
    onFailure: (handler) => {
      worker.on('error', handler);
      worker.on('exit', (code) => handler(new Error(`a replica thread exited (code ${code})`)));
    },
    terminate: () => worker.terminate(),
  };
}

/** Starts each replica in a worker thread running replica-thread.js, which sets up the backend first. */
function workerThreads(options: Pick<ParallelTrainerOptions, 'backend' | 'setup'>): SpawnReplica {
  const workerData: ReplicaWorkerData = {
    backend: options.backend ?? tf.getBackend(),
    ...(options.setup ? { setup: options.setup } : {}),
  };
  const script = new URL('./replica-thread.js', import.meta.url);
  return () => workerChannel(new Worker(script, { workerData }));
}

/**
 * Data-parallel training over Node worker threads: a `DataParallelTrainer` whose replicas run in worker threads
 * that this class starts, each setting up its backend (see `ParallelTrainerOptions.setup`). Use it where the
 * backend computes on one thread (wasm and cpu in Node).
 */
export class ParallelTrainer extends DataParallelTrainer {
  /** A fresh run on `workers` replica threads. */
  static override async create(options: ParallelTrainerOptions): Promise<ParallelTrainer> {
    const run = options.config ? { config: options.config } : {};
    return new ParallelTrainer(
      await DataParallelTrainer.startReplicas({ ...options, spawn: workerThreads(options) }, run),
    );
  }

  /** Continues a run from a checkpoint (written by `Trainer` or `ParallelTrainer`) on `workers` replicas. */
  static override async restore(
    checkpoint: Checkpoint,
    options: Omit<ParallelTrainerOptions, 'config'> & { readonly steps?: number },
  ): Promise<ParallelTrainer> {
    return new ParallelTrainer(
      await DataParallelTrainer.startRestored(checkpoint, { ...options, spawn: workerThreads(options) }),
    );
  }
}
