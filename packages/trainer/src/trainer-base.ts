import type { ImageSplit } from '@gradsign/datasets';
import type { Checkpoint } from './checkpoint.js';
import { resolveConfig, type TrainConfig } from './config.js';
import { CheckpointError } from './errors.js';
import type { EvalResult, EvaluateOptions } from './evaluate.js';
import { type StepHistory, StepLog } from './history.js';

/** The data a run trains and evaluates on. */
export interface TrainerData {
  readonly train: ImageSplit;
  /** Needed by `evaluate()`. */
  readonly test?: ImageSplit;
}

/** What `train()` and `Trainer.run()` report after every optimizer step. */
export interface StepRecord {
  /** Optimizer steps done, counting from 1 (a resumed run continues the count). */
  readonly step: number;
  /** Total steps of the run. */
  readonly steps: number;
  /** Mean cross-entropy of this step's batch, before the update. */
  readonly loss: number;
  readonly learningRate: number;
  /** Wall time of this step: batch, forward, backward, update and reading the loss back. */
  readonly msPerStep: number;
  /** Training epoch the batch came from (0-based). */
  readonly epoch: number;
  /** Training wall time so far, in seconds (including time before a resume). */
  readonly elapsedSeconds: number;
  /** True when the 'skip' non-finite policy skipped this step's update (its loss or a gradient was not finite). */
  readonly skipped?: boolean;
}

/** Resolves on the next turn of the event loop (setImmediate in Node, a MessageChannel message elsewhere). */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * The surface `Trainer` (one thread) and `ParallelTrainer` (replica threads, in '@gradsign/trainer/node') share:
 * the run's config and data, its progress and step log, the step loop, and how a checkpoint's config is taken up
 * on restore. Each says how it takes a step, evaluates, checkpoints and frees itself.
 */
export abstract class TrainerBase {
  abstract readonly config: TrainConfig;
  abstract readonly data: TrainerData;
  protected stepsDone = 0;
  protected trainMs = 0;
  protected log = new StepLog();

  /**
   * The config a run resumed from `checkpoint` trains with (`steps` may extend or shorten it). Throws
   * `CheckpointError` ('incompatible') when the checkpoint's config is not usable.
   */
  protected static restoredConfig(checkpoint: Checkpoint, steps: number | undefined): TrainConfig {
    try {
      return resolveConfig({ ...checkpoint.config, steps: steps ?? checkpoint.config.steps });
    } catch (error) {
      throw new CheckpointError(
        'incompatible',
        `checkpoint config is not usable: ${(error as Error).message}`,
      );
    }
  }

  /** Optimizer steps done so far. */
  get step(): number {
    return this.stepsDone;
  }

  get done(): boolean {
    return this.stepsDone >= this.config.steps;
  }

  /** Training wall time so far (seconds), including time before a resume. */
  get trainSeconds(): number {
    return this.trainMs / 1000;
  }

  /** Every step's loss, time and epoch so far, including those before a resume when the checkpoint kept them. */
  history(): StepHistory {
    return this.log.snapshot();
  }

  /** The tfjs backend in use. */
  abstract get backend(): string;
  /** Updates skipped so far under the 'skip' non-finite policy (0 under 'stop'). */
  abstract get skippedSteps(): number;
  /** Trainable parameters of the model. */
  abstract paramCount(): number;
  /** The bytes the optimizer state really holds (each replica holds a full copy). */
  abstract stateBytes(): number;
  /** One optimizer step on the next batch. */
  abstract trainStep(): Promise<StepRecord>;
  /** Evaluates in eval mode on `split` (default: the test split). */
  abstract evaluate(options?: EvaluateOptions & { readonly split?: ImageSplit }): Promise<EvalResult>;
  /** The run's complete state. Encode it with `encodeCheckpoint` or save it with `saveCheckpoint` (node). */
  abstract checkpoint(meta?: Record<string, unknown>): Promise<Checkpoint>;
  /** Frees the run's tensors, or stops its threads. */
  abstract dispose(): void;

  /** Counts a step done in `ms` and logs it. */
  protected recordStep(ms: number, loss: number, epoch: number): void {
    this.stepsDone += 1;
    this.trainMs += ms;
    this.log.push({ loss, msPerStep: ms, epoch });
  }

  /**
   * Trains until `until` steps are done (default: the run's total), yielding a record after each step. Stops
   * early, between steps, when `signal` is aborted (no error: the trainer stays usable and can be checkpointed).
   */
  async *run(
    options: { readonly until?: number; readonly signal?: AbortSignal } = {},
  ): AsyncGenerator<StepRecord> {
    const until = Math.min(options.until ?? this.config.steps, this.config.steps);
    while (this.stepsDone < until && !options.signal?.aborted) {
      yield await this.trainStep();
      // Let timers, signals and messages (a stop button, Ctrl-C) run between steps: on synchronous backends all
      // of a step's promises resolve as microtasks, which would otherwise starve the event loop.
      await yieldToEventLoop();
    }
  }
}
