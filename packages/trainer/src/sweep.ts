import { REFERENCE_LR_GRID, resolveConfig, type TrainConfig } from './config.js';
import { type NonFiniteOptions, resolveNonFinite } from './nonfinite.js';
import { type RunnableTrainer, runTrainer, type TrainResult } from './run.js';
import { type StepRecord, Trainer, type TrainerData } from './trainer.js';

/** One run of a sweep. */
export interface SweepRun {
  readonly optimizer: string;
  readonly learningRate: number;
  readonly seed: number;
  /** 0-based position in the plan, and the plan's length. */
  readonly index: number;
  readonly total: number;
}

/** Options of {@link sweep}: the grid (optimizers × learning rates × seeds), shared settings, data and callbacks. */
export interface SweepOptions {
  readonly optimizers: readonly string[];
  /** Per optimizer, or one list for all. Default: the reference grid (`REFERENCE_LR_GRID`). */
  readonly learningRates?: Readonly<Record<string, readonly number[]>> | readonly number[];
  readonly seeds: readonly number[];
  /** Shared settings (model, steps, batch size, optimizer options). */
  readonly base?: Partial<Omit<TrainConfig, 'optimizer' | 'learningRate' | 'seed'>>;
  readonly data: TrainerData;
  readonly evalBatchSize?: number;
  /** Called (and awaited) before each run's trainer is created. */
  readonly onRunStart?: (run: SweepRun) => void | Promise<void>;
  /** Called (and awaited) after every training step of a run. */
  readonly onStep?: (run: SweepRun, record: StepRecord) => void | Promise<void>;
  /** Called during a run's final evaluation with the number of test images done so far. */
  readonly onEvalProgress?: (run: SweepRun, done: number, total: number) => void;
  readonly signal?: AbortSignal;
  /**
   * What each run does when it diverges (default `{ policy: 'stop' }`). A diverged run is yielded with `diverged`
   * set and the sweep goes on with the next run.
   */
  readonly onNonFinite?: NonFiniteOptions;
  /**
   * Makes each run's trainer (default `Trainer.create`); e.g. a `ParallelTrainer` from '@gradsign/trainer/node'
   * for data-parallel runs. It is passed `onNonFinite` to apply.
   */
  readonly createTrainer?: (
    config: Partial<TrainConfig>,
    data: TrainerData,
    options: { readonly onNonFinite?: NonFiniteOptions },
  ) => Promise<
    RunnableTrainer & {
      /** Frees the trainer; the sweep calls it after the run. */
      dispose(): void;
    }
  >;
}

/** The runs of a sweep, in order: optimizer, then learning rate, then seed. Validates every config up front. */
export function sweepPlan(options: Omit<SweepOptions, 'data'>): SweepRun[] {
  resolveNonFinite(options.onNonFinite);
  const runs: Omit<SweepRun, 'index' | 'total'>[] = [];
  for (const optimizer of options.optimizers) {
    const grid = options.learningRates ?? REFERENCE_LR_GRID;
    const lrs = Array.isArray(grid)
      ? (grid as readonly number[])
      : (grid as Record<string, readonly number[]>)[optimizer.toLowerCase()];
    if (!lrs || lrs.length === 0) {
      throw new RangeError(`no learning rates given for optimizer '${optimizer}'`);
    }
    for (const learningRate of lrs) {
      for (const seed of options.seeds) {
        resolveConfig({ ...options.base, optimizer, learningRate, seed });
        runs.push({ optimizer: optimizer.toLowerCase(), learningRate, seed });
      }
    }
  }
  return runs.map((run, index) => ({ ...run, index, total: runs.length }));
}

/**
 * Trains and evaluates every run of the plan, one after another, yielding each result as it finishes. Stops
 * between steps when `signal` aborts (the interrupted run is yielded with `stopped: true`, then the sweep ends).
 * A run that diverges is yielded with `diverged` set, and the sweep continues.
 */
export async function* sweep(
  options: SweepOptions,
): AsyncGenerator<TrainResult & { readonly run: SweepRun }> {
  for (const run of sweepPlan(options)) {
    if (options.signal?.aborted) return;
    await options.onRunStart?.(run);
    const config = {
      ...options.base,
      optimizer: run.optimizer,
      learningRate: run.learningRate,
      seed: run.seed,
    };
    const guard = options.onNonFinite ? { onNonFinite: options.onNonFinite } : {};
    const trainer = options.createTrainer
      ? await options.createTrainer(config, options.data, guard)
      : Trainer.create({ config, data: options.data, ...guard });
    try {
      const { onStep, onEvalProgress } = options;
      const result = await runTrainer(trainer, {
        ...(onStep ? { onStep: (record: StepRecord) => onStep(run, record) } : {}),
        ...(onEvalProgress
          ? { onEvalProgress: (done: number, total: number) => onEvalProgress(run, done, total) }
          : {}),
        ...(options.evalBatchSize ? { evalBatchSize: options.evalBatchSize } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      yield { ...result, run };
      if (result.stopped) return;
    } finally {
      trainer.dispose();
    }
  }
}
