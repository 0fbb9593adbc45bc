import { loadMnist, subset } from '@gradsign/datasets';
import { getOptimizerEntry } from '@gradsign/optim-core';
import { type Checkpoint, type RunnableTrainer, Trainer, type TrainerData } from '@gradsign/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { RunElsewhereError, SweepQueueError } from './errors.js';
import type { RunPayload } from './payload.js';

let mnist: ReturnType<typeof loadMnist> | undefined;

/** A trainer the worker can run, checkpoint and dispose (`Trainer`, `ParallelTrainer`). */
export type QueueTrainer = RunnableTrainer & {
  /** The run's complete state, with optional free-form `meta`, to store and resume from. */
  checkpoint(meta?: Record<string, unknown>): Promise<Checkpoint>;
  /** Frees the run's tensors, or stops its threads. */
  dispose(): void;
};

/** How a worker gets ready for a run and builds its trainer. Defaults: see `defaultHooks`. */
export interface RunHooks {
  /** Imports the optimizer's package if needed and makes the job's backend current. Throws to refuse the run. */
  prepare(payload: RunPayload): Promise<void>;
  /** The train and test splits for the run (default: MNIST, cut to the payload's `trainLimit`/`testLimit`). */
  loadData(payload: RunPayload): Promise<TrainerData>;
  /** A fresh trainer, or one restored from `checkpoint`. */
  createTrainer(payload: RunPayload, data: TrainerData, checkpoint?: Checkpoint): Promise<QueueTrainer>;
}

/**
 * The hooks a worker uses unless given others: the job's backend must be registered with tfjs (it is made
 * current), its optimizer registered or importable as `@gradsign/optim-<name>`, data from the MNIST copy embedded
 * in `@gradsign/datasets`, trainers from `Trainer` (one thread) or `ParallelTrainer` (`workers` above 1).
 */
export const defaultHooks: RunHooks = {
  async prepare(payload: RunPayload): Promise<void> {
    const name = payload.config.optimizer;
    if (!getOptimizerEntry(name)) await import(`@gradsign/optim-${name}`).catch(() => undefined);
    if (!getOptimizerEntry(name)) {
      throw new SweepQueueError('invalid-job', `optimizer '${name}' is not installed on this worker`);
    }
    if (tf.getBackend() !== payload.backend) {
      const ok = tf.findBackendFactory(payload.backend) !== null && (await tf.setBackend(payload.backend));
      if (!ok) throw new RunElsewhereError(`backend '${payload.backend}' is not available on this worker`);
    }
  },
  async loadData(payload: RunPayload): Promise<TrainerData> {
    mnist ??= loadMnist();
    const { train, test } = await mnist;
    return {
      train:
        payload.trainLimit && payload.trainLimit < train.count ? subset(train, payload.trainLimit) : train,
      test: payload.testLimit && payload.testLimit < test.count ? subset(test, payload.testLimit) : test,
    };
  },
  async createTrainer(payload, data, checkpoint): Promise<QueueTrainer> {
    const onNonFinite = payload.onNonFinite ? { onNonFinite: payload.onNonFinite } : {};
    if (payload.workers === 1) {
      return checkpoint
        ? Trainer.restore(checkpoint, { data, steps: payload.config.steps, ...onNonFinite })
        : Trainer.create({ config: payload.config, data, ...onNonFinite });
    }
    const { ParallelTrainer } = await import('@gradsign/trainer/node');
    const options = { data, workers: payload.workers, backend: payload.backend, ...onNonFinite };
    return checkpoint
      ? ParallelTrainer.restore(checkpoint, { ...options, steps: payload.config.steps })
      : ParallelTrainer.create({ ...options, config: payload.config });
  },
};
