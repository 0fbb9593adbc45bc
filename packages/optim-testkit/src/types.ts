import type * as tf from '@tensorflow/tfjs-core';

/** What the conformance suite needs of an optimizer: tfjs-core's `Optimizer` plus the gradsign state contract. */
export interface TestableOptimizer {
  /** One optimizer step: updates each named variable with its gradient (tfjs-core's `applyGradients`). */
  applyGradients(gradients: tf.NamedTensorMap): void;
  /** The decoded values of one state slot of `variable`, shaped like it; the caller owns the tensor. */
  readState(variable: tf.Variable, slot: string): tf.Tensor;
  /** Replaces one state slot of `variable` with `value` (decoded form, shaped like the variable). */
  writeState(variable: tf.Variable, slot: string, value: tf.Tensor): void;
  /** The bytes of backend memory the state really holds, as `tf.memory()` counts them. */
  stateBytes(): number;
  /** The whole state as named tensors (tfjs-core's serialization), for a save/restore round trip. */
  getWeights(): Promise<{ name: string; tensor: tf.Tensor }[]>;
  /** Replaces the whole state with tensors as `getWeights` returned them. */
  setWeights(weights: { name: string; tensor: tf.Tensor }[]): Promise<void>;
  /** Frees the optimizer's state. */
  dispose(): void;
}
