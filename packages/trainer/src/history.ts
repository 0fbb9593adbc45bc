import type { TrainConfig } from './config.js';

/**
 * Every step of a run so far, as checkpoints keep it, so that a resumed run reports the same losses, step times
 * and summaries as an uninterrupted one.
 */
export interface StepHistory {
  /**
   * The step before the first entry: 0 when the history is complete. A run resumed from a checkpoint written before
   * checkpoints kept the history starts its history at that checkpoint's step.
   */
  readonly from: number;
  /** The batch loss of steps from + 1, from + 2, … (NaN or ±Infinity for a step whose update was skipped). */
  readonly losses: readonly number[];
  /** Wall time of each step, in milliseconds. */
  readonly msPerStep: readonly number[];
  /** Training epoch each step's batch came from (0-based). */
  readonly epochs: readonly number[];
}

/** The growing history of a trainer. */
export class StepLog {
  private readonly losses: number[];
  private readonly msPerStep: number[];
  private readonly epochs: number[];

  constructor(
    readonly from = 0,
    saved?: StepHistory,
  ) {
    this.losses = saved ? [...saved.losses] : [];
    this.msPerStep = saved ? [...saved.msPerStep] : [];
    this.epochs = saved ? [...saved.epochs] : [];
  }

  /** The history a checkpoint at `step` holds, or an empty one starting at `step` if it holds none. */
  static resume(checkpoint: { readonly step: number; readonly history?: StepHistory }): StepLog {
    const h = checkpoint.history;
    return h ? new StepLog(h.from, h) : new StepLog(checkpoint.step);
  }

  push(record: { readonly loss: number; readonly msPerStep: number; readonly epoch: number }): void {
    this.losses.push(record.loss);
    this.msPerStep.push(record.msPerStep);
    this.epochs.push(record.epoch);
  }

  /** A copy of the history so far. */
  snapshot(): StepHistory {
    return {
      from: this.from,
      losses: [...this.losses],
      msPerStep: [...this.msPerStep],
      epochs: [...this.epochs],
    };
  }
}

/** The step records of a history (for writing steps.csv and plots of a resumed run). */
export function historyRecords(
  history: StepHistory,
  config: Pick<TrainConfig, 'steps' | 'learningRate'>,
): {
  step: number;
  steps: number;
  loss: number;
  learningRate: number;
  msPerStep: number;
  epoch: number;
  elapsedSeconds: number;
}[] {
  let elapsed = 0;
  return history.losses.map((loss, i) => {
    elapsed += history.msPerStep[i]!;
    return {
      step: history.from + i + 1,
      steps: config.steps,
      loss,
      learningRate: config.learningRate,
      msPerStep: history.msPerStep[i]!,
      epoch: history.epochs[i]!,
      elapsedSeconds: elapsed / 1000,
    };
  });
}

/** Bytes per step of a checkpoint's history block: a float64 loss, a float64 time, an int32 epoch. */
export const HISTORY_BYTES = 20;

export function checkHistory(h: StepHistory, step: number, error: (problem: string) => Error): void {
  const n = h.losses.length;
  if (!Number.isSafeInteger(h.from) || h.from < 0 || h.from + n !== step) {
    throw error(`step history from step ${h.from} with ${n} steps does not end at step ${step}`);
  }
  if (h.msPerStep.length !== n || h.epochs.length !== n) throw error('step history arrays differ in length');
}

export function writeHistory(view: DataView, offset: number, h: StepHistory): void {
  const n = h.losses.length;
  for (let i = 0; i < n; i++) {
    view.setFloat64(offset + 8 * i, h.losses[i]!, true);
    view.setFloat64(offset + 8 * (n + i), h.msPerStep[i]!, true);
    view.setInt32(offset + 16 * n + 4 * i, h.epochs[i]!, true);
  }
}

function readHistory(view: DataView, from: number, count: number, offset: number): StepHistory {
  const losses: number[] = [];
  const msPerStep: number[] = [];
  const epochs: number[] = [];
  for (let i = 0; i < count; i++) {
    losses.push(view.getFloat64(offset + 8 * i, true));
    msPerStep.push(view.getFloat64(offset + 8 * (count + i), true));
    epochs.push(view.getInt32(offset + 16 * count + 4 * i, true));
  }
  return { from, losses, msPerStep, epochs };
}

export function decodeHistory(
  view: DataView,
  h: { from: number; count: number; offset: number } | undefined,
  payloadStart: number,
  total: number,
  corrupt: (problem: string) => never,
): StepHistory {
  const ok = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (typeof h !== 'object' || h === null || !ok(h.from) || !ok(h.count) || !ok(h.offset)) {
    return corrupt('bad step history entry');
  }
  if (h.offset < payloadStart || h.offset + h.count * HISTORY_BYTES > total - 4) {
    corrupt('the step history lies outside the payload');
  }
  return readHistory(view, h.from, h.count, h.offset);
}
