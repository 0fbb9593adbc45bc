import { allFinite, applyIfFinite, type FiniteGuard, NonFiniteError } from '@gradsign/optim-core';
import type * as tf from '@tensorflow/tfjs-core';
import { DivergenceError, TrainerError } from './errors.js';

/**
 * What a trainer does when a step's loss or gradients go non-finite (NaN or ±Infinity):
 * - 'stop' (the default): throw `DivergenceError` at the first non-finite loss, before applying that step's update;
 * - 'skip': skip the step's update (as optax's `apply_if_finite` does), and throw `DivergenceError` only after
 *   `maxConsecutive` skipped updates in a row.
 */
export interface NonFiniteOptions {
  readonly policy: 'stop' | 'skip';
  /** With 'skip': skipped updates in a row before giving up (default 10). */
  readonly maxConsecutive?: number;
}

/** The default `maxConsecutive` of the 'skip' policy: skipped updates in a row before the run is diverged. */
export const DEFAULT_MAX_CONSECUTIVE = 10;

/** Validates the options; throws `TrainerError` ('invalid-config'). */
export function resolveNonFinite(options: NonFiniteOptions | undefined): Required<NonFiniteOptions> {
  const policy = options?.policy ?? 'stop';
  if (policy !== 'stop' && policy !== 'skip') {
    throw new TrainerError(
      'invalid-config',
      `onNonFinite.policy must be 'stop' or 'skip', got '${String(policy)}'`,
    );
  }
  const maxConsecutive = options?.maxConsecutive ?? DEFAULT_MAX_CONSECUTIVE;
  if (!Number.isSafeInteger(maxConsecutive) || maxConsecutive < 1) {
    throw new TrainerError(
      'invalid-config',
      `onNonFinite.maxConsecutive must be a positive integer, got ${String(maxConsecutive)}`,
    );
  }
  return { policy, maxConsecutive };
}

/**
 * Applies one step's update under the policy. `loss` is the step's loss, already read. Returns false when the
 * update was skipped; throws `DivergenceError` when the run must stop.
 */
export function guardedUpdate(
  step: number,
  loss: number,
  gradients: tf.NamedTensorMap,
  optimizer: tf.Optimizer,
  guard: FiniteGuard | null,
): boolean {
  if (!guard) {
    if (!Number.isFinite(loss)) throw new DivergenceError(step, 'loss', loss);
    optimizer.applyGradients(gradients);
    return true;
  }
  try {
    if (!Number.isFinite(loss)) {
      guard.skip(`the loss is ${loss}`);
      return false;
    }
    return guard.applyGradients(gradients);
  } catch (error) {
    if (!(error instanceof NonFiniteError)) throw error;
    const quantity = Number.isFinite(loss) ? 'gradient' : 'loss';
    throw new DivergenceError(step, quantity, Number.isFinite(loss) ? Number.NaN : loss, error.message);
  }
}

/** A guard for the 'skip' policy, or null for 'stop'. */
export function makeGuard(optimizer: tf.Optimizer, options: Required<NonFiniteOptions>): FiniteGuard | null {
  return options.policy === 'skip'
    ? applyIfFinite(optimizer, { maxConsecutive: options.maxConsecutive })
    : null;
}

/** The first non-finite value among named value arrays, or null. */
export function firstNonFinite(
  records: readonly { readonly name: string; readonly values: ArrayLike<number> }[],
): { name: string; index: number; value: number } | null {
  for (const { name, values } of records) {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) return { name, index: i, value: values[i]! };
    }
  }
  return null;
}

/** Throws `DivergenceError` ('weights') when a variable holds a non-finite value (one fused check, one read). */
export function checkWeights(
  step: number,
  variables: readonly { name: string; variable: tf.Tensor }[],
): void {
  if (allFinite(variables.map((v) => v.variable))) return;
  const bad = firstNonFinite(variables.map((v) => ({ name: v.name, values: v.variable.dataSync() })));
  if (bad) throw new DivergenceError(step, 'weights', bad.value, `weight '${bad.name}' is ${bad.value}`);
}
