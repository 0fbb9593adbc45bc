import * as tf from '@tensorflow/tfjs-core';
import { fail } from '../errors.js';
import { type PartSpec, type SlotFormat, type SlotStorage, variableFrom } from './format.js';

/** Storage of the {@link float32} format: one float32 variable, `value`, of the parameter's shape. */
export class Float32Storage implements SlotStorage {
  readonly value: tf.Variable;

  constructor(initial: tf.Tensor) {
    this.value = variableFrom(tf.cast(initial, 'float32'));
  }

  get tensors(): readonly tf.Tensor[] {
    return [this.value];
  }

  read(): tf.Tensor {
    return tf.clone(this.value);
  }

  write(value: tf.Tensor): void {
    this.value.assign(value);
  }

  save(): tf.Tensor[] {
    return [tf.clone(this.value)];
  }

  dispose(): void {
    this.value.dispose();
  }
}

/** Plain float32 state: 4 bytes per element. */
export const float32: SlotFormat = {
  id: 'float32',
  dtype: 'float32',
  create: (initial) => new Float32Storage(initial),
  parts: (shape): PartSpec[] => [{ suffix: '', shape: [...shape], dtype: 'float32', storeAs: 'float32' }],
  load: (_shape, [part]) => new Float32Storage(part!),
  validate(value, where) {
    if (value.dtype !== 'float32')
      fail('state-dtype', `${where}: expected float32 values, got ${value.dtype}`);
  },
};
