import type * as tf from '@tensorflow/tfjs-core';

/** A trainable tensor as an observer sees it: the model's logical name (`conv1.weight`) and its variable. */
export interface ObservedVariable {
  readonly name: string;
  readonly variable: tf.Variable;
}

/**
 * Sees every applied step's gradients (`TrainerOptions.observe`). It is called after the optimizer applied the step
 * and before the gradients are freed, so `variables` already hold the updated weights. The gradients are read-only:
 * an observer may read them (and make and free tensors of its own) but must not dispose or change them. Steps whose
 * update the 'skip' non-finite policy skipped are not observed. The trainer awaits a returned promise.
 */
export interface GradientObserver {
  /**
   * `step` counts from 1; `gradients` are keyed by the tfjs variable name (`variables[i].variable.name`), as the
   * optimizer receives them; `variables` are the model's trainable tensors in model order.
   */
  onGradients(
    step: number,
    gradients: tf.NamedTensorMap,
    variables: readonly ObservedVariable[],
  ): void | Promise<void>;
}
