import * as tf from '@tensorflow/tfjs-core';

/** One tensor of a slot's portable form, as `getWeights` returns it and `setWeights` takes it back. */
export interface PartSpec {
  /** Appended to `<variable>/<slot>` in weight names; '' for a slot's only part. */
  readonly suffix: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
  /**
   * The narrowest type that holds every value exactly: what a compact file format may store. Only a hint: the
   * values are always those of `dtype`, and storing them as `dtype` is always exact. int8: [-128, 127]; uint8:
   * [0, 255]; uint16: [0, 65535] (e.g. bf16 bit patterns).
   */
  readonly storeAs: 'float32' | 'int32' | 'int8' | 'uint8' | 'uint16';
}

/**
 * The storage of one slot of one variable. It owns its tensors. `read` and `save` return new tensors that the
 * caller owns (call them inside `tf.tidy` or dispose them).
 */
export interface SlotStorage {
  /** The decoded values, shaped like the variable: int32 for integer formats, float32 otherwise. */
  read(): tf.Tensor;
  /** Encodes and stores `value` (decoded form, shaped like the variable). Does not take ownership. */
  write(value: tf.Tensor): void;
  /** The portable form, matching `format.parts(shape)`. Round-trips bit-exactly through `format.load`. */
  save(): tf.Tensor[];
  /** The tensors that really hold the state; their bytes are the slot's footprint. */
  readonly tensors: readonly tf.Tensor[];
  /** Frees the tensors that hold the state; the storage is unusable afterwards. */
  dispose(): void;
}

/**
 * A storage format for optimizer state. The optimizer declares a format per slot and never sees how values are
 * stored: a format that quantizes (int8, block-wise 8-bit, bf16) plugs in without changes to the optimizer.
 */
export interface SlotFormat {
  /** A stable identifier, recorded in configs and checkpoints: 'float32', 'int8', ... */
  readonly id: string;
  /** The dtype of decoded values. */
  readonly dtype: 'float32' | 'int32';
  /** Allocates storage holding `initial` (decoded form, shaped like the variable). Does not take ownership. */
  create(initial: tf.Tensor): SlotStorage;
  /** Describes the portable parts for a variable of this shape. */
  parts(shape: readonly number[]): PartSpec[];
  /** Rebuilds storage from portable parts (as `save` produced them). Validates them; does not take ownership. */
  load(shape: readonly number[], parts: readonly tf.Tensor[]): SlotStorage;
  /** Throws an `OptimizerError` if `value` is not a valid decoded value (dtype, range). */
  validate(value: tf.Tensor, where: string): void;
}

/** Bytes a tensor really occupies in backend memory, counted the way `tf.memory()` counts them. */
export function tensorBytes(t: tf.Tensor): number {
  const perElement = t.dtype === 'bool' ? 1 : 4;
  return t.size * perElement;
}

/** A non-trainable variable holding `value`'s data; `value` itself is disposed. */
export function variableFrom(value: tf.Tensor): tf.Variable {
  const variable = tf.variable(value, false);
  value.dispose();
  return variable;
}
