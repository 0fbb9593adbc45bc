import * as tf from '@tensorflow/tfjs-core';
import { fail } from './errors.js';
import type { SlotSpec } from './slots.js';
import { type SlotStorage, tensorBytes } from './state/format.js';

/** A named tensor, as tfjs-core's optimizers exchange them in `getWeights`/`setWeights`. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

export const ITERATIONS = 'iter';
export const STEP = 'step';

export function weightName(variable: string, slot: string, suffix: string): string {
  return suffix ? `${variable}/${slot}/${suffix}` : `${variable}/${slot}`;
}

/** The saved state of one variable: its name when saved, its step and its portable tensors by weight name. */
interface SavedVariable {
  readonly name: string;
  readonly step: number;
  readonly tensors: ReadonlyMap<string, tf.Tensor>;
}

/** A restored variable's storage, built by `RestoredState.bind`. */
export interface BoundVariable {
  readonly variable: tf.Variable;
  readonly step: number;
  readonly slots: Map<string, SlotStorage>;
}

/**
 * State that `setWeights` received, held until it is bound to the variables it belongs to: on the next
 * `applyGradients` (or `allocateState`). Saved names may not be today's: TF.js renames the variables of a loaded
 * model when the process already holds variables of those names (`dense/kernel_1`). So binding is by name when
 * every updated variable has saved state of its name, and otherwise by position, as tfjs-core's own optimizers
 * restore. State that fits neither is an error, never a silent fresh start.
 */
export class RestoredState {
  private constructor(
    readonly iterations: number,
    private readonly saved: readonly SavedVariable[],
  ) {}

  /** Checks the structure of `weights` (as `getWeights` makes them) and keeps copies of the tensors. */
  static parse(weights: readonly NamedTensor[], specs: readonly SlotSpec[], where: string): RestoredState {
    const byName = new Map<string, tf.Tensor>();
    for (const { name, tensor } of weights) {
      if (byName.has(name)) fail('weights-mismatch', `${where}: '${name}' appears twice`);
      byName.set(name, tensor);
    }
    const iterations = byName.get(ITERATIONS);
    if (iterations?.size !== 1) fail('weights-mismatch', `${where}: missing the '${ITERATIONS}' scalar`);
    byName.delete(ITERATIONS);
    const stepNames = [...byName.keys()].filter((n) => n.endsWith(`/${STEP}`));
    const groups = stepNames.map((stepName) => {
      const name = stepName.slice(0, -STEP.length - 1);
      const step = byName.get(stepName)!;
      if (step.size !== 1 || step.dtype !== 'int32')
        fail('weights-mismatch', `${where}: '${stepName}' must be an int32 scalar`);
      byName.delete(stepName);
      return { name, step: step.dataSync()[0]!, tensors: new Map<string, tf.Tensor>() };
    });
    for (const group of groups) {
      // The saved variable's shape is that of its first part; every part must fit a variable of that shape.
      const slot = specs[0] ? `${group.name}/${specs[0].name}` : undefined;
      const first = [...byName.keys()].find((n) => n === slot || n.startsWith(`${slot}/`));
      const shape = first ? byName.get(first)!.shape : [];
      for (const spec of specs) {
        for (const part of spec.format.parts(shape)) {
          const key = weightName(group.name, spec.name, part.suffix);
          const tensor = byName.get(key) ?? fail('weights-mismatch', `${where}: missing '${key}'`);
          group.tensors.set(key, tensor);
          byName.delete(key);
        }
      }
    }
    if (byName.size > 0)
      fail('weights-mismatch', `${where}: unexpected entries: ${[...byName.keys()].join(', ')}`);
    for (const group of groups) checkParts(group, firstShape(group), specs, where);
    for (const group of groups) for (const [key, t] of group.tensors) group.tensors.set(key, tf.clone(t));
    return new RestoredState(iterations.dataSync()[0]!, groups);
  }

  /** Copies of the saved tensors in `getWeights` order, under their saved names. The caller owns them. */
  weights(specs: readonly SlotSpec[]): NamedTensor[] {
    const out: NamedTensor[] = [{ name: ITERATIONS, tensor: tf.scalar(this.iterations, 'int32') }];
    for (const group of this.saved) {
      out.push({ name: `${group.name}/${STEP}`, tensor: tf.scalar(group.step, 'int32') });
      for (const spec of specs) {
        for (const [key, tensor] of group.tensors) {
          if (key === weightName(group.name, spec.name, '') || key.startsWith(`${group.name}/${spec.name}/`))
            out.push({ name: key, tensor: tf.clone(tensor) });
        }
      }
    }
    return out;
  }

  /** The saved variable names, in order. */
  get names(): string[] {
    return this.saved.map((s) => s.name);
  }

  /** Bytes the held copies occupy in backend memory. */
  get bytes(): number {
    let bytes = 0;
    for (const group of this.saved) for (const t of group.tensors.values()) bytes += tensorBytes(t);
    return bytes;
  }

  /**
   * Builds the storage of every saved variable for `variables` (the ones being updated), by name or else by
   * position. Validates everything before it allocates; throws `OptimizerError` ('state-mismatch' or
   * 'weights-mismatch') naming the variables, and changes nothing, when the state does not fit.
   */
  bind(variables: readonly tf.Variable[], specs: readonly SlotSpec[], where: string): BoundVariable[] {
    const pairs = this.match(variables, where);
    for (const [saved, variable] of pairs) checkParts(saved, variable.shape, specs, where, variable.name);
    const bound: BoundVariable[] = [];
    try {
      for (const [saved, variable] of pairs) {
        const slots = new Map<string, SlotStorage>();
        bound.push({ variable, step: saved.step, slots });
        for (const spec of specs) {
          const parts = spec.format
            .parts(variable.shape)
            .map((part) => saved.tensors.get(weightName(saved.name, spec.name, part.suffix))!);
          slots.set(spec.name, spec.format.load(variable.shape, parts));
        }
      }
    } catch (error) {
      for (const b of bound) for (const s of b.slots.values()) s.dispose();
      throw error;
    }
    return bound;
  }

  dispose(): void {
    for (const group of this.saved) for (const t of group.tensors.values()) t.dispose();
  }

  private match(variables: readonly tf.Variable[], where: string): [SavedVariable, tf.Variable][] {
    const saved = new Map(this.saved.map((s) => [s.name, s]));
    if (variables.every((v) => saved.has(v.name))) {
      return this.saved.map((s) => {
        const variable =
          variables.find((v) => v.name === s.name) ??
          tf.engine().registeredVariables[s.name] ??
          fail('unknown-variable', `${where}: state for unknown variable '${s.name}'`);
        return [s, variable];
      });
    }
    if (variables.length !== this.saved.length) {
      fail(
        'state-mismatch',
        `${where}: restored state is for ${this.saved.length} variables (${this.names.join(', ')}), ` +
          `but ${variables.length} are being updated (${variables.map((v) => v.name).join(', ')}); ` +
          'it matches them neither by name nor by position',
      );
    }
    return this.saved.map((s, i) => [s, variables[i]!]);
  }
}

function checkParts(
  saved: SavedVariable,
  shape: readonly number[],
  specs: readonly SlotSpec[],
  where: string,
  variable?: string,
): void {
  const owner = variable && variable !== saved.name ? ` (restored into '${variable}' by position)` : '';
  for (const spec of specs) {
    for (const part of spec.format.parts(shape)) {
      const key = weightName(saved.name, spec.name, part.suffix);
      const tensor = saved.tensors.get(key);
      if (!tensor) fail('weights-mismatch', `${where}: missing '${key}'${owner}`);
      if (!tf.util.arraysEqual(tensor.shape, part.shape as number[]) || tensor.dtype !== part.dtype) {
        fail(
          'weights-mismatch',
          `${where}: '${key}'${owner} must be ${part.dtype}[${part.shape}], got ${tensor.dtype}[${tensor.shape}]`,
        );
      }
    }
  }
}

function firstShape(saved: SavedVariable): readonly number[] {
  const first = saved.tensors.values().next();
  return first.done ? [] : first.value.shape;
}
