import * as tf from '@tensorflow/tfjs-core';
import { fail } from './errors.js';
import { type NamedTensor, RestoredState, STEP, weightName } from './restored-state.js';
import { ownConfig } from './serialization.js';
import type { SlotSpec, SlotValues, UpdateInput, UpdateResult } from './slots.js';
import { type SlotStorage, tensorBytes } from './state/format.js';
import { positiveFinite } from './validate.js';

interface VariableState {
  readonly variable: tf.Variable;
  readonly slots: Map<string, SlotStorage>;
  step: number;
}

/** One slot of one variable, as `describeState` lists it (for checkpoint writers). */
export interface StateEntry {
  readonly variable: string;
  readonly slot: string;
  readonly format: string;
  readonly parts: ReturnType<SlotSpec['format']['parts']>;
}

export type { NamedTensor };

/**
 * The base of every gradsign optimizer. A subclass declares its slots and a pure `update` rule; this class keeps
 * the state keyed by variable name, validates every input before anything is mutated, and implements tfjs-core's
 * serialization (`getWeights`/`setWeights`) and the state contract (`readState`, `writeState`, `stateBytes`).
 */
export abstract class StatefulOptimizer extends tf.Optimizer {
  private readonly states = new Map<string, VariableState>();
  /** State from `setWeights`, until the next update (or `allocateState`) binds it to its variables. */
  private restored: RestoredState | undefined;
  private lr: number;

  protected constructor(learningRate: number) {
    super();
    positiveFinite(learningRate, 'learningRate', new.target.name);
    this.lr = learningRate;
  }

  /**
   * Rebuilds an optimizer from `getConfig()`'s output. Ignores the keys tfjs-layers adds for itself
   * (`customObjects`), so `tf.loadLayersModel` restores a model saved with its optimizer.
   */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(ownConfig(config));
  }

  /** The state slots every variable gets. */
  protected abstract slotSpecs(): readonly SlotSpec[];

  /** The update rule for one variable. Runs inside `tf.tidy`; returns the new parameter and state values. */
  protected abstract update(input: UpdateInput): UpdateResult;

  /**
   * A backend-specific fast path for one variable, which must compute exactly what `update` computes. Returns
   * false (the default) to use `update`. Called after validation, outside any `tf.tidy`.
   */
  protected fusedUpdate(
    _param: tf.Variable,
    _grad: tf.Tensor,
    _slots: ReadonlyMap<string, SlotStorage>,
    _step: number,
  ): boolean {
    return false;
  }

  get learningRate(): number {
    return this.lr;
  }

  set learningRate(value: number) {
    positiveFinite(value, 'learningRate', this.getClassName());
    this.lr = value;
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const updates = this.resolveGradients(variableGradients);
    this.bindRestored(updates.map((u) => u.variable));
    for (const { variable, grad } of updates) {
      const state = this.stateFor(variable);
      if (this.fusedUpdate(variable, grad, state.slots, state.step + 1)) {
        state.step += 1;
        continue;
      }
      tf.tidy(() => {
        const current: SlotValues = {};
        for (const [name, storage] of state.slots) current[name] = storage.read();
        const result = this.update({ param: variable, grad, state: current, step: state.step + 1 });
        for (const [name, storage] of state.slots) storage.write(result.state[name]!);
        variable.assign(result.param);
      });
      state.step += 1;
    }
    this.incrementIterations();
  }

  /** Allocates the state of `variables` now, rather than on their first update (to measure or inspect it). */
  allocateState(variables: readonly tf.Variable[]): void {
    this.bindRestored(variables);
    for (const variable of variables) this.stateFor(this.registered(variable.name));
  }

  /** The decoded state of one slot of `variable` (int32 for counters, float32 otherwise). The caller owns it. */
  readState(variable: tf.Variable | string, slot: string): tf.Tensor {
    const name = typeof variable === 'string' ? variable : variable.name;
    this.bindRestoredByName();
    const state = this.states.get(name);
    if (!state)
      fail('no-state', `${this.getClassName()}: variable '${name}' has no state yet (it was never updated)`);
    return this.slotOf(state, slot).read();
  }

  /** Replaces the state of one slot of `variable` with `value` (decoded form, shaped like the variable). */
  writeState(variable: tf.Variable, slot: string, value: tf.Tensor): void {
    const target = this.registered(variable.name);
    this.bindRestoredByName();
    const spec = this.slotSpecs().find((s) => s.name === slot);
    if (!spec) this.unknownSlot(slot);
    const where = `${this.getClassName()} state '${variable.name}/${slot}'`;
    if (!tf.util.arraysEqual(value.shape, target.shape)) {
      fail('state-shape', `${where}: expected shape [${target.shape}], got [${value.shape}]`);
    }
    spec.format.validate(value, where);
    this.slotOf(this.stateFor(target), slot).write(value);
  }

  /** The bytes of backend memory the optimizer state really holds, counted as `tf.memory()` counts them. */
  stateBytes(): number {
    let bytes = this.restored?.bytes ?? 0;
    for (const state of this.states.values()) {
      for (const storage of state.slots.values()) for (const t of storage.tensors) bytes += tensorBytes(t);
    }
    return bytes;
  }

  /** The variables with state, their slots and the portable parts `getWeights` returns for each. */
  describeState(): StateEntry[] {
    this.bindRestoredByName();
    const specs = this.slotSpecs();
    return [...this.states.values()].flatMap(({ variable }) =>
      specs.map((spec) => ({
        variable: variable.name,
        slot: spec.name,
        format: spec.format.id,
        parts: spec.format.parts(variable.shape),
      })),
    );
  }

  /**
   * The full state as named tensors: `iter`, then for each variable `<name>/step` and `<name>/<slot>[/<part>]`.
   * Values are portable (decoded counters, not backend-specific packing) and round-trip bit-exactly.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    if (this.restored) return this.restored.weights(this.slotSpecs());
    const weights: NamedTensor[] = [await this.saveIterations()];
    for (const state of this.states.values()) {
      const name = state.variable.name;
      weights.push({ name: `${name}/${STEP}`, tensor: tf.scalar(state.step, 'int32') });
      for (const spec of this.slotSpecs()) {
        const storage = state.slots.get(spec.name)!;
        const tensors = storage.save();
        spec.format.parts(state.variable.shape).forEach((part, i) => {
          weights.push({ name: weightName(name, spec.name, part.suffix), tensor: tensors[i]! });
        });
      }
    }
    return weights;
  }

  /**
   * Replaces the whole state with `weights` as `getWeights` produced them. Their structure is validated first
   * (names, dtypes, every slot part present, nothing extra); on such an error the current state is left untouched.
   * The state is bound to its variables on the next update (or `allocateState`): by name when every updated
   * variable has saved state of its name, otherwise by position, as tfjs-core's optimizers restore (TF.js renames
   * a loaded model's variables when the process already holds those names). State that fits neither throws
   * `OptimizerError` ('state-mismatch' or 'weights-mismatch') at that update, before anything changes.
   */
  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const restored = RestoredState.parse(weights, this.slotSpecs(), `${this.getClassName()}.setWeights`);
    this.disposeState();
    this.restored = restored;
    this.iterations_ = restored.iterations;
  }

  /** Frees all optimizer state. The optimizer stays usable: state is allocated again on the next update. */
  override dispose(): void {
    this.disposeState();
    super.dispose();
  }

  private disposeState(): void {
    for (const state of this.states.values()) for (const storage of state.slots.values()) storage.dispose();
    this.states.clear();
    this.restored?.dispose();
    this.restored = undefined;
  }

  /** Binds state restored by `setWeights` to `variables`, the ones being updated (see `setWeights`). */
  private bindRestored(variables: readonly tf.Variable[]): void {
    if (!this.restored) return;
    const bound = this.restored.bind(variables, this.slotSpecs(), `${this.getClassName()}.setWeights`);
    this.restored.dispose();
    this.restored = undefined;
    for (const { variable, step, slots } of bound) this.states.set(variable.name, { variable, slots, step });
  }

  /** For inspection before any update: binds restored state to the registered variables of its saved names. */
  private bindRestoredByName(): void {
    if (!this.restored) return;
    const registered = this.restored.names.map((n) => tf.engine().registeredVariables[n]);
    if (registered.every((v) => v !== undefined)) this.bindRestored(registered);
  }

  private resolveGradients(gradients: tf.NamedTensorMap | NamedTensor[]) {
    const where = this.getClassName();
    const entries: [string, tf.Tensor | null][] = Array.isArray(gradients)
      ? gradients.map(({ name, tensor }) => [name, tensor])
      : Object.entries(gradients);
    const seen = new Set<string>();
    const updates: { variable: tf.Variable; grad: tf.Tensor }[] = [];
    for (const [name, grad] of entries) {
      if (seen.has(name)) fail('gradient-shape', `${where}: two gradients for variable '${name}'`);
      seen.add(name);
      if (grad == null) continue;
      const variable = this.registered(name);
      if (variable.dtype !== 'float32') {
        fail(
          'unsupported-dtype',
          `${where}: variable '${name}' is ${variable.dtype}; only float32 can be optimized`,
        );
      }
      if (grad.dtype !== 'float32')
        fail('gradient-dtype', `${where}: gradient for '${name}' is ${grad.dtype}, not float32`);
      if (!tf.util.arraysEqual(grad.shape, variable.shape)) {
        fail(
          'gradient-shape',
          `${where}: gradient for '${name}' has shape [${grad.shape}], variable has [${variable.shape}]`,
        );
      }
      updates.push({ variable, grad });
    }
    return updates;
  }

  private registered(name: string): tf.Variable {
    const variable = tf.engine().registeredVariables[name];
    if (!variable) fail('unknown-variable', `${this.getClassName()}: no registered variable named '${name}'`);
    return variable;
  }

  private stateFor(variable: tf.Variable): VariableState {
    const existing = this.states.get(variable.name);
    if (existing && existing.variable === variable) return existing;
    if (existing) for (const storage of existing.slots.values()) storage.dispose();
    const slots = new Map<string, SlotStorage>();
    for (const spec of this.slotSpecs()) {
      const initial = tf.tidy(() => spec.init(variable));
      slots.set(spec.name, spec.format.create(initial));
      initial.dispose();
    }
    const state: VariableState = { variable, slots, step: 0 };
    this.states.set(variable.name, state);
    return state;
  }

  private slotOf(state: VariableState, slot: string): SlotStorage {
    const storage = state.slots.get(slot);
    if (!storage) this.unknownSlot(slot);
    return storage;
  }

  private unknownSlot(slot: string): never {
    const known = this.slotSpecs().map((s) => `'${s.name}'`);
    return fail(
      'unknown-slot',
      `${this.getClassName()} has no state slot '${slot}'; its slots: ${known.join(', ') || 'none'}`,
    );
  }
}
