import { evalBatches, type ImageSplit } from '@gradsign/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropyPerExample } from './loss.js';
import type { Model } from './models/model.js';

/** Options of an evaluation: batch size, progress callback and an abort signal. */
export interface EvaluateOptions {
  /** Images per forward pass (default 250). Only memory and speed depend on it. */
  readonly batchSize?: number;
  /** Called after each chunk with the number of images done so far. */
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

/** The outcome of an evaluation: accuracy, mean loss, counts and wall time in seconds. */
export interface EvalResult {
  /** Fraction of correctly classified images, 0…1. */
  readonly accuracy: number;
  /** Mean cross-entropy over the images. */
  readonly loss: number;
  /** Number of images evaluated. */
  readonly count: number;
  readonly correct: number;
  readonly seconds: number;
}

/** Evaluates `model` in eval mode (BatchNorm running statistics, no dropout) over the whole `split`, in order. */
export async function evaluate(
  model: Model,
  split: ImageSplit,
  options: EvaluateOptions = {},
): Promise<EvalResult> {
  const start = performance.now();
  const batchSize = options.batchSize ?? 250;
  let correct = 0;
  let lossSum = 0;
  let count = 0;
  for (const batch of evalBatches(split, batchSize)) {
    options.signal?.throwIfAborted();
    const [losses, hits] = tf.tidy(() => {
      const logits = model.forward(batch.xs, { training: false });
      const perExample = crossEntropyPerExample(logits, batch.ys);
      const right = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), batch.ys), 'int32'));
      return [tf.sum(perExample), right];
    });
    tf.dispose([batch.xs, batch.ys]);
    lossSum += (await losses.data())[0]!;
    correct += (await hits.data())[0]!;
    tf.dispose([losses, hits]);
    count += batch.size;
    options.onProgress?.(count, split.count);
  }
  return evalResult({ correct, lossSum, count }, start);
}

/** The result of an evaluation from its totals; `start` is when it began (`performance.now()`). */
export function evalResult(
  totals: { readonly correct: number; readonly lossSum: number; readonly count: number },
  start: number,
): EvalResult {
  const { correct, lossSum, count } = totals;
  return {
    accuracy: count === 0 ? Number.NaN : correct / count,
    loss: count === 0 ? Number.NaN : lossSum / count,
    count,
    correct,
    seconds: (performance.now() - start) / 1000,
  };
}
