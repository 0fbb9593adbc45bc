import type * as tf from '@tensorflow/tfjs-core';

/** What the conformance suite needs of an optimizer: tfjs-core's `Optimizer` plus the gradsign state contract. */
export interface TestableOptimizer {
  applyGradients(gradients: tf.NamedTensorMap): void;
  readState(variable: tf.Variable, slot: string): tf.Tensor;
  writeState(variable: tf.Variable, slot: string, value: tf.Tensor): void;
  stateBytes(): number;
  getWeights(): Promise<{ name: string; tensor: tf.Tensor }[]>;
  setWeights(weights: { name: string; tensor: tf.Tensor }[]): Promise<void>;
  dispose(): void;
}
