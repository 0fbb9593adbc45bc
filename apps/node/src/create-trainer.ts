// The trainer of a run, fresh or resumed: in this thread, or data-parallel on replica threads (`--workers`).
import {
  type Checkpoint,
  type NonFiniteOptions,
  type TrainConfig,
  Trainer,
  type TrainerData,
} from '@gradsign/trainer';
import { ParallelTrainer } from '@gradsign/trainer/node';

export interface TrainerSetup {
  readonly data: TrainerData;
  readonly backend: string;
  /** Replica threads: 1 trains in this thread. */
  readonly workers: number;
  /** Modules the replica threads import first (optimizer packages), by URL. */
  readonly modules: readonly string[];
  readonly onNonFinite?: NonFiniteOptions | undefined;
  /** The wasm SIMD kernel build the replica threads select (`--portable-kernels`); default 'auto'. */
  readonly kernels?: 'auto' | 'portable' | undefined;
}

/** A fresh run of `config`, or the run of `checkpoint` continued up to `steps`. */
export type RunStart = { config: Partial<TrainConfig> } | { checkpoint: Checkpoint; steps: number };

export async function createTrainer(setup: TrainerSetup, run: RunStart): Promise<Trainer | ParallelTrainer> {
  const { data, onNonFinite } = setup;
  const policy = onNonFinite ? { onNonFinite } : {};
  if (setup.workers === 1) {
    return 'config' in run
      ? Trainer.create({ config: run.config, data, ...policy })
      : Trainer.restore(run.checkpoint, { data, steps: run.steps, ...policy });
  }
  const options = {
    data,
    ...policy,
    workers: setup.workers,
    backend: setup.backend,
    setup: {
      module: new URL('./replica-setup.js', import.meta.url).href,
      options: { modules: [...setup.modules], kernels: setup.kernels ?? 'auto' },
    },
  };
  return 'config' in run
    ? ParallelTrainer.create({ ...options, config: run.config })
    : ParallelTrainer.restore(run.checkpoint, { ...options, steps: run.steps });
}
