import type { TrainConfig } from './config.js';
import { type Divergence, DivergenceError } from './errors.js';
import type { EvalResult, EvaluateOptions } from './evaluate.js';
import type { StepHistory } from './history.js';
import { type StepRecord, Trainer, type TrainerData, type TrainerOptions } from './trainer.js';

/** Options of {@link train} (and, without `config` and `data`, of {@link runTrainer}). */
export interface TrainOptions extends TrainerOptions {
  /** Called after every step; awaited, so a slow listener slows training rather than queueing records. */
  readonly onStep?: (record: StepRecord) => void | Promise<void>;
  /** Evaluate on `data.test` at the end (default: when a test split is given). */
  readonly evaluate?: boolean;
  /** Images per evaluation forward pass (default 250). */
  readonly evalBatchSize?: number;
  /** Called during the final evaluation with the images done so far. */
  readonly onEvalProgress?: (done: number, total: number) => void;
  /** Stops between steps; the result then has `stopped: true` and no test metrics. */
  readonly signal?: AbortSignal;
}

/** What `runTrainer` needs of a trainer: `Trainer` and `ParallelTrainer` (from '@gradsign/trainer/node') fit. */
export interface RunnableTrainer {
  readonly config: TrainConfig;
  readonly data: TrainerData;
  readonly backend: string;
  readonly step: number;
  readonly done: boolean;
  readonly trainSeconds: number;
  /** Threads that train data-parallel (absent: one). */
  readonly workers?: number;
  /** Updates skipped under the 'skip' non-finite policy (absent: none). */
  readonly skippedSteps?: number;
  /** Trainable parameters of the model. */
  paramCount(): number;
  /** The bytes the optimizer state really holds (each replica holds a full copy). */
  stateBytes(): number;
  /** Every step so far, including those before a resume (absent: only the steps `runTrainer` sees are known). */
  history?(): StepHistory;
  /** Trains until `until` steps are done (default: all), yielding a record per step; stops early on `signal`. */
  run(options?: { readonly until?: number; readonly signal?: AbortSignal }): AsyncGenerator<StepRecord>;
  /** Evaluates in eval mode on the test split. */
  evaluate(options?: EvaluateOptions): Promise<EvalResult>;
}

/** The outcome of one run, in the form the CLI prints as a JSON line. */
export interface TrainResult {
  readonly config: TrainConfig;
  readonly backend: string;
  /** Replica threads that trained it (1, or absent, unless data-parallel). */
  readonly workers?: number;
  /** Trainable parameters of the model. */
  readonly params: number;
  /** Bytes of optimizer state at the end (what `tf.memory()` counts). */
  readonly stateBytes: number;
  /** Steps done (less than `config.steps` when stopped or diverged). */
  readonly steps: number;
  /** Stopped early by the signal (not evaluated). */
  readonly stopped: boolean;
  /**
   * Present when the run diverged (see `TrainerOptions.onNonFinite`): it ended early, unevaluated, and summaries
   * show it as diverged rather than averaging it.
   */
  readonly diverged?: Divergence;
  /** Updates skipped under the 'skip' non-finite policy (absent when none were). */
  readonly skippedSteps?: number;
  /** Test accuracy (0…1) and mean loss in eval mode; NaN when not evaluated. */
  readonly testAccuracy: number;
  readonly testLoss: number;
  readonly testCount: number;
  readonly trainSeconds: number;
  /** Mean wall time per step. */
  readonly msPerStep: number;
  /** Median wall time per step (less sensitive to a busy machine). */
  readonly msPerStepMedian: number;
  readonly evalSeconds: number;
  /**
   * The batch loss of every step, in order, including the steps before a resume (kept in checkpoints), so that a
   * resumed run reports what the uninterrupted run would.
   */
  readonly losses: readonly number[];
  /**
   * Present when `losses` do not start at step 1: the run was resumed from a checkpoint written before
   * checkpoints kept the step history; `losses`, `finalTrainLoss` and `msPerStepMedian` cover the steps after it.
   */
  readonly historyFrom?: number;
  /** Mean batch loss of the last min(50, steps) steps (the non-finite losses of skipped updates left out). */
  readonly finalTrainLoss: number;
}

/** The median of `values` (mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Runs `trainer` to the end (or until `signal` aborts), then evaluates. The trainer is not disposed. A run that
 * diverges (`DivergenceError`, from a step or from `onStep`, e.g. a checkpoint of non-finite weights) ends with
 * `diverged` set and no evaluation rather than an error.
 */
export async function runTrainer(
  trainer: RunnableTrainer,
  options: Omit<TrainOptions, 'config' | 'data'> = {},
): Promise<TrainResult> {
  const from = trainer.step;
  const losses: number[] = [];
  const times: number[] = [];
  let diverged: Divergence | undefined;
  try {
    for await (const record of trainer.run({ ...(options.signal ? { signal: options.signal } : {}) })) {
      losses.push(record.loss);
      times.push(record.msPerStep);
      await options.onStep?.(record);
    }
  } catch (error) {
    if (!(error instanceof DivergenceError)) throw error;
    diverged = error.toDivergence();
  }
  const history = trainer.history?.() ?? { from, losses, msPerStep: times, epochs: [] };
  const stopped = !diverged && !trainer.done;
  const shouldEvaluate = !stopped && !diverged && (options.evaluate ?? trainer.data.test !== undefined);
  const evaluation = shouldEvaluate
    ? await trainer.evaluate({
        ...(options.evalBatchSize ? { batchSize: options.evalBatchSize } : {}),
        ...(options.onEvalProgress ? { onProgress: options.onEvalProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      })
    : undefined;
  const tail = history.losses.slice(-50).filter(Number.isFinite);
  const skippedSteps = trainer.skippedSteps ?? 0;
  return {
    config: trainer.config,
    backend: trainer.backend,
    workers: trainer.workers ?? 1,
    params: trainer.paramCount(),
    stateBytes: trainer.stateBytes(),
    steps: trainer.step,
    stopped,
    ...(diverged ? { diverged } : {}),
    ...(skippedSteps > 0 ? { skippedSteps } : {}),
    testAccuracy: evaluation?.accuracy ?? Number.NaN,
    testLoss: evaluation?.loss ?? Number.NaN,
    testCount: evaluation?.count ?? 0,
    trainSeconds: trainer.trainSeconds,
    msPerStep: trainer.step > 0 ? (trainer.trainSeconds * 1000) / trainer.step : Number.NaN,
    msPerStepMedian: median(history.msPerStep),
    evalSeconds: evaluation?.seconds ?? 0,
    losses: [...history.losses],
    ...(history.from > 0 ? { historyFrom: history.from } : {}),
    finalTrainLoss: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : Number.NaN,
  };
}

/**
 * Trains one run from scratch and evaluates it: the simplest entry point.
 *
 *     const result = await train({ config: { optimizer: 'gradsign', learningRate: 0.003 }, data: mnist });
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const trainer = Trainer.create(options);
  try {
    return await runTrainer(trainer, options);
  } finally {
    trainer.dispose();
  }
}

export type { StepRecord, TrainerData };
