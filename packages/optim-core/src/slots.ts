import type * as tf from '@tensorflow/tfjs-core';
import type { SlotFormat } from './state/format.js';

/** Declares one per-variable state slot: its name, how it is stored, and its value before the first step. */
export interface SlotSpec {
  readonly name: string;
  readonly format: SlotFormat;
  /** The decoded initial value for `param` (shaped like it, in `format.dtype`). Called inside `tf.tidy`. */
  readonly init: (param: tf.Variable) => tf.Tensor;
}

/** Decoded slot values, keyed by slot name, as an update rule sees and returns them. */
export type SlotValues = Record<string, tf.Tensor>;

/** What an update rule computes for one variable: its new value and its new state. */
export interface UpdateResult {
  readonly param: tf.Tensor;
  readonly state: SlotValues;
}

/** Everything an update rule may read for one variable and one step. */
export interface UpdateInput {
  readonly param: tf.Tensor;
  readonly grad: tf.Tensor;
  readonly state: SlotValues;
  /** 1 on the first update of this variable. */
  readonly step: number;
}
