import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from './stateful-optimizer.js';

/** What `applyIfFinite` counts: skipped updates in all, and in a row. */
export interface FiniteGuardCounts {
  /** Updates skipped since the guard was made (or since `restore`). */
  readonly skippedSteps: number;
  /** Updates skipped in a row up to now (0 after an applied update). */
  readonly consecutiveSkips: number;
}

/** Options of {@link applyIfFinite}. */
export interface ApplyIfFiniteOptions {
  /** Skipped updates in a row after which `NonFiniteError` is thrown (default 10; at least 1). */
  readonly maxConsecutive?: number;
}

/** Thrown by `applyIfFinite` after `maxConsecutive` updates in a row were skipped as non-finite. */
export class NonFiniteError extends Error {
  readonly code = 'non-finite';
  readonly skippedSteps: number;
  readonly consecutiveSkips: number;

  constructor(message: string, counts: FiniteGuardCounts) {
    super(message);
    this.name = 'NonFiniteError';
    this.skippedSteps = counts.skippedSteps;
    this.consecutiveSkips = counts.consecutiveSkips;
  }
}

/**
 * True when every value of every tensor is finite (no NaN, no ±Infinity): one `isFinite` + `all` reduction per
 * tensor, combined on the backend, and one read of a single boolean.
 */
export function allFinite(tensors: readonly tf.Tensor[]): boolean {
  if (tensors.length === 0) return true;
  const flag = tf.tidy(() => {
    const each = tensors.map((t) => tf.all(tf.isFinite(t)));
    return each.length === 1 ? each[0]! : tf.all(tf.stack(each));
  });
  try {
    return flag.dataSync()[0] === 1;
  } finally {
    flag.dispose();
  }
}

/** An optimizer behind a non-finite guard, in the spirit of optax's `apply_if_finite`. */
export interface FiniteGuard<O extends tf.Optimizer = tf.Optimizer> extends FiniteGuardCounts {
  readonly optimizer: O;
  readonly maxConsecutive: number;
  /**
   * Applies `gradients` when every value is finite and returns true; otherwise leaves the variables and the
   * optimizer state untouched, counts the skip and returns false, or throws `NonFiniteError` when that makes
   * `maxConsecutive` skips in a row.
   */
  applyGradients(gradients: tf.NamedTensorMap | NamedTensor[]): boolean;
  /** Counts an update skipped for another reason (a non-finite loss, say); throws as `applyGradients` does. */
  skip(reason?: string): void;
  /** Sets the counts (from a checkpoint). */
  restore(counts: FiniteGuardCounts): void;
}

/**
 * Wraps `optimizer` so that an update whose gradients hold a NaN or an infinity is skipped rather than applied,
 * and counted (`skippedSteps`, `consecutiveSkips`); after `maxConsecutive` skips in a row it throws
 * `NonFiniteError`. The check costs one fused reduction per gradient and one read per update.
 *
 *     const guarded = applyIfFinite(new Adam({ learningRate: 1e-3 }), { maxConsecutive: 5 });
 *     if (!guarded.applyGradients(grads)) console.warn(`skipped (${guarded.consecutiveSkips} in a row)`);
 */
export function applyIfFinite<O extends tf.Optimizer>(
  optimizer: O,
  options: ApplyIfFiniteOptions = {},
): FiniteGuard<O> {
  const maxConsecutive = options.maxConsecutive ?? 10;
  if (!Number.isSafeInteger(maxConsecutive) || maxConsecutive < 1) {
    throw new RangeError(`maxConsecutive must be a positive integer, got ${String(maxConsecutive)}`);
  }
  let skippedSteps = 0;
  let consecutiveSkips = 0;
  const skip = (reason = 'a gradient is not finite'): void => {
    skippedSteps += 1;
    consecutiveSkips += 1;
    if (consecutiveSkips >= maxConsecutive) {
      throw new NonFiniteError(
        `${reason}; ${consecutiveSkips} update${consecutiveSkips === 1 ? '' : 's'} in a row skipped ` +
          `(the limit is ${maxConsecutive})`,
        { skippedSteps, consecutiveSkips },
      );
    }
  };
  return {
    optimizer,
    maxConsecutive,
    get skippedSteps() {
      return skippedSteps;
    },
    get consecutiveSkips() {
      return consecutiveSkips;
    },
    applyGradients(gradients) {
      const tensors = (
        Array.isArray(gradients) ? gradients.map((g) => g.tensor) : Object.values(gradients)
      ).filter((t): t is tf.Tensor => t != null);
      if (!allFinite(tensors)) {
        skip();
        return false;
      }
      optimizer.applyGradients(gradients);
      consecutiveSkips = 0;
      return true;
    },
    skip,
    restore(counts) {
      for (const [key, value] of Object.entries(counts)) {
        if (!Number.isSafeInteger(value) || value < 0)
          throw new RangeError(`${key} must be a non-negative integer, got ${String(value)}`);
      }
      if (counts.consecutiveSkips > counts.skippedSteps)
        throw new RangeError('consecutiveSkips cannot exceed skippedSteps');
      skippedSteps = counts.skippedSteps;
      consecutiveSkips = counts.consecutiveSkips;
    },
  };
}
