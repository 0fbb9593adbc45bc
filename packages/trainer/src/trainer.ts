import { Dataset, type ImageSplit } from '@gradsign/datasets';
import {
  createOptimizer,
  type FiniteGuard,
  getOptimizerEntry,
  type RegisteredOptimizer,
} from '@gradsign/optim-core';
import * as tf from '@tensorflow/tfjs-core';
import {
  type Checkpoint,
  isStoreAs,
  refuseNonFinite,
  type StoreAs,
  type TensorRecord,
} from './checkpoint.js';
import { resolveConfig, type TrainConfig } from './config.js';
import { CheckpointError, DivergenceError, TrainerError } from './errors.js';
import { type EvalResult, type EvaluateOptions, evaluate } from './evaluate.js';
import { StepLog } from './history.js';
import { crossEntropy } from './loss.js';
import { createModel } from './models/index.js';
import type { BatchShard, Model } from './models/model.js';
import {
  checkWeights,
  firstNonFinite,
  guardedUpdate,
  makeGuard,
  type NonFiniteOptions,
  resolveNonFinite,
} from './nonfinite.js';
import type { GradientObserver, ObservedVariable } from './observe/observer.js';
import { deriveSeed, Mulberry32, STREAM_DROPOUT } from './random.js';
import type { ReplicaGroup } from './replica-group.js';
import { type StepRecord, TrainerBase, type TrainerData } from './trainer-base.js';

export type { StepRecord, TrainerData } from './trainer-base.js';

/** Options of `Trainer.create`: the run's configuration, its data, and replica and divergence settings. */
export interface TrainerOptions {
  /** Missing fields take the reference protocol's values (see `resolveConfig`). */
  readonly config?: Partial<TrainConfig>;
  readonly data: TrainerData;
  /**
   * Data-parallel training: this trainer is one replica of the group and trains on its share of every batch
   * (see `ParallelTrainer` in '@gradsign/trainer/node', which sets this up over worker threads).
   */
  readonly replica?: ReplicaGroup;
  /**
   * What to do when training diverges (default `{ policy: 'stop' }`). Checked: the loss of every step (a value
   * each step reads anyway), with 'skip' also the gradients (one fused reduction and one read per step), the
   * weights after the last step, and the weights and optimizer state of every checkpoint.
   */
  readonly onNonFinite?: NonFiniteOptions;
  /**
   * Sees each applied step's gradients, read-only (e.g. a `SignConfidenceRecorder`); training is bit-identical
   * with and without it. Without it the step does nothing extra (one trainer, not `ParallelTrainer`).
   */
  readonly observe?: GradientObserver;
}

/** The prefix that stands for the model's variable prefix in checkpointed optimizer weight names. */
const MODEL_REF = '@model/';

/** The run's optimizer; a seeded one (its registry entry says so) draws from the run's seed unless given its own. */
function makeOptimizer(config: TrainConfig): RegisteredOptimizer {
  const base: Record<string, unknown> = { ...config.optimizerConfig, learningRate: config.learningRate };
  if (base.seed === undefined && getOptimizerEntry(config.optimizer)?.seeded) base.seed = config.seed;
  return createOptimizer(config.optimizer, base);
}

interface Describable {
  describeState(): { variable: string; slot: string; parts: { suffix: string; storeAs: string }[] }[];
}

function hasDescribeState(o: unknown): o is Describable {
  return typeof (o as Partial<Describable>).describeState === 'function';
}

/**
 * One training run: a model, an optimizer and a seeded data stream. Runs are deterministic on a given backend:
 * the initialisation and dropout masks come from mulberry32 streams derived from `config.seed`, the data order
 * from `Dataset`'s seed. A checkpoint taken after any step resumes bit-identically on the same backend.
 */
export class Trainer extends TrainerBase {
  readonly config: TrainConfig;
  readonly model: Model;
  readonly optimizer: RegisteredOptimizer;
  readonly data: TrainerData;
  private readonly dataset: Dataset;
  private dropout: Mulberry32;
  private disposed = false;
  private readonly guard: FiniteGuard | null;
  /** The observer and the tensors it is shown, or null (the default: nothing is done for it). */
  private readonly observer: { sink: GradientObserver; variables: readonly ObservedVariable[] } | null;

  private readonly replica: ReplicaGroup | null;
  /** The gradients and loss of one step, flat, for the replica all-reduce (reused from step to step). */
  private replicaSums: Float64Array | null = null;

  private constructor(
    config: TrainConfig,
    data: TrainerData,
    replica?: ReplicaGroup,
    onNonFinite?: NonFiniteOptions,
    observe?: GradientObserver,
  ) {
    super();
    const nonFinite = resolveNonFinite(onNonFinite);
    this.config = config;
    this.data = data;
    this.replica = replica && replica.count > 1 ? replica : null;
    if (this.replica && this.replica.count > config.batchSize) {
      throw new TrainerError(
        'invalid-config',
        `cannot split batches of ${config.batchSize} over ${this.replica.count} replicas`,
      );
    }
    this.dataset = new Dataset(data.train, { batchSize: config.batchSize, seed: config.seed });
    this.dropout = new Mulberry32(deriveSeed(config.seed, STREAM_DROPOUT));
    this.model = createModel(config.model, { seed: config.seed, ...config.modelOptions });
    this.observer = observe
      ? {
          sink: observe,
          variables: this.model
            .tensors()
            .filter((t) => t.trainable)
            .map((t) => ({ name: t.name, variable: t.variable })),
        }
      : null;
    try {
      const problem = this.replica ? this.model.dataParallelProblem() : null;
      if (problem) throw new TrainerError('invalid-config', problem);
      this.optimizer = makeOptimizer(config);
      this.guard = makeGuard(this.optimizer, nonFinite);
    } catch (error) {
      this.model.dispose();
      throw error;
    }
  }

  /** A fresh run. */
  static create(options: TrainerOptions): Trainer {
    return new Trainer(
      resolveConfig(options.config),
      options.data,
      options.replica,
      options.onNonFinite,
      options.observe,
    );
  }

  /**
   * Continues a run from a checkpoint. `steps` may extend (or shorten) the run; everything else comes from the
   * checkpoint. Throws `CheckpointError` ('incompatible') when the checkpoint does not fit.
   */
  static async restore(
    checkpoint: Checkpoint,
    options: {
      readonly data: TrainerData;
      readonly steps?: number;
      readonly replica?: ReplicaGroup;
      readonly onNonFinite?: NonFiniteOptions;
      readonly observe?: GradientObserver;
    },
  ): Promise<Trainer> {
    const config = TrainerBase.restoredConfig(checkpoint, options.steps);
    const trainer = new Trainer(config, options.data, options.replica, options.onNonFinite, options.observe);
    try {
      await trainer.load(checkpoint);
    } catch (error) {
      trainer.dispose();
      if (error instanceof CheckpointError) throw error;
      throw new CheckpointError('incompatible', `cannot resume from checkpoint: ${(error as Error).message}`);
    }
    return trainer;
  }

  get skippedSteps(): number {
    return this.guard?.skippedSteps ?? 0;
  }

  get backend(): string {
    return tf.getBackend();
  }

  paramCount(): number {
    return this.model.paramCount();
  }

  stateBytes(): number {
    return this.optimizer.stateBytes();
  }

  async trainStep(): Promise<StepRecord> {
    this.checkAlive();
    const start = performance.now();
    const full = this.dataset.nextBatch();
    const batch: { xs: tf.Tensor4D; ys: tf.Tensor1D; shard?: BatchShard } = this.replica
      ? this.shardOf(full, this.replica)
      : full;
    const epoch = this.dataset.epoch;
    const step = this.stepsDone + 1;
    let lossValue: number;
    let applied: boolean;
    try {
      const { value, grads } = tf.variableGrads(() => {
        const logits = this.model.forward(batch.xs, {
          training: true,
          dropout: this.dropout,
          ...(batch.shard ? { shard: batch.shard } : {}),
        });
        const loss = crossEntropy(logits, batch.ys);
        // A replica's loss is its rows' share of the batch mean, so that the replicas' gradients add up.
        return batch.shard ? tf.mul(loss, batch.xs.shape[0] / batch.shard.total) : loss;
      }, this.model.trainableVariables());
      let update = grads;
      if (this.replica) {
        const summed = this.sumOverReplicas(this.replica, grads, value);
        tf.dispose(grads);
        update = summed.grads;
        lossValue = summed.loss;
        value.dispose();
      } else {
        lossValue = (await value.data())[0]!;
        value.dispose();
      }
      try {
        // Every replica sees the same summed loss and gradients, so all of them decide alike.
        applied = guardedUpdate(step, lossValue, update, this.optimizer, this.guard);
        if (applied && this.observer)
          await this.observer.sink.onGradients(step, update, this.observer.variables);
      } finally {
        tf.dispose(update);
      }
      if (applied) this.model.commitStatistics();
      else this.model.discardStatistics();
    } catch (error) {
      this.model.discardStatistics();
      // Replicas waiting for this one in the same step must not wait forever (a divergence stops all of them).
      if (!(error instanceof DivergenceError)) this.replica?.abort();
      throw error;
    } finally {
      tf.dispose([batch.xs, batch.ys]);
    }
    const ms = performance.now() - start;
    this.recordStep(ms, lossValue, epoch);
    // The loss of the next step checks this update; after the last step, the weights are checked directly.
    if (step === this.config.steps) checkWeights(step, this.model.tensors());
    return {
      step,
      steps: this.config.steps,
      loss: lossValue,
      learningRate: this.optimizer.learningRate,
      msPerStep: ms,
      epoch,
      elapsedSeconds: this.trainMs / 1000,
      ...(applied ? {} : { skipped: true }),
    };
  }

  /**
   * This replica's rows of a batch (the same rows whatever the backend; the rest are disposed), and the group's sum
   * for the layers that need the whole batch's statistics.
   */
  private shardOf(
    batch: { xs: tf.Tensor4D; ys: tf.Tensor1D },
    group: ReplicaGroup,
  ): { xs: tf.Tensor4D; ys: tf.Tensor1D; shard: BatchShard } {
    const total = batch.xs.shape[0];
    const offset = Math.floor((group.index * total) / group.count);
    const rows = Math.floor(((group.index + 1) * total) / group.count) - offset;
    const xs = tf.slice(batch.xs, [offset, 0, 0, 0], [rows, -1, -1, -1]);
    const ys = tf.slice(batch.ys, [offset], [rows]);
    tf.dispose([batch.xs, batch.ys]);
    return { xs, ys, shard: { offset, total, sum: (values) => group.allReduceSum(values) } };
  }

  /** The gradients and loss summed over the replica group (every replica gets the same values). */
  private sumOverReplicas(
    group: ReplicaGroup,
    grads: tf.NamedTensorMap,
    loss: tf.Scalar,
  ): { grads: tf.NamedTensorMap; loss: number } {
    const names = this.model.trainableVariables().map((v) => v.name);
    const size = names.reduce((n, name) => n + grads[name]!.size, 0);
    if (this.replicaSums?.length !== size + 1) this.replicaSums = new Float64Array(size + 1);
    const flat = this.replicaSums;
    let offset = 0;
    for (const name of names) {
      flat.set(grads[name]!.dataSync() as Float32Array, offset);
      offset += grads[name]!.size;
    }
    flat[size] = loss.dataSync()[0]!;
    group.allReduceSum(flat);
    const out: tf.NamedTensorMap = {};
    offset = 0;
    for (const name of names) {
      const g = grads[name]!;
      out[name] = tf.tensor(Float32Array.from(flat.subarray(offset, offset + g.size)), g.shape, 'float32');
      offset += g.size;
    }
    return { grads: out, loss: flat[size]! };
  }

  evaluate(options: EvaluateOptions & { readonly split?: ImageSplit } = {}): Promise<EvalResult> {
    this.checkAlive();
    const split = options.split ?? this.data.test;
    if (!split)
      throw new TrainerError('no-test-split', 'evaluate() needs a test split (data.test) or options.split');
    return evaluate(this.model, split, options);
  }

  async checkpoint(meta?: Record<string, unknown>): Promise<Checkpoint> {
    this.checkAlive();
    const model: TensorRecord[] = [];
    for (const t of this.model.tensors()) {
      model.push({
        name: t.name,
        shape: [...t.variable.shape],
        dtype: 'float32',
        storeAs: 'float32',
        values: ((await t.variable.data()) as Float32Array).slice(),
      });
    }
    const storeAs = new Map<string, StoreAs>();
    if (hasDescribeState(this.optimizer)) {
      for (const entry of this.optimizer.describeState()) {
        for (const part of entry.parts) {
          const name = `${entry.variable}/${entry.slot}${part.suffix ? `/${part.suffix}` : ''}`;
          // A narrower type this file format does not know is written as the tensor's dtype instead.
          if (isStoreAs(part.storeAs)) storeAs.set(name, part.storeAs);
        }
      }
    }
    const badWeight = firstNonFinite(model);
    if (badWeight) {
      throw new DivergenceError(
        this.stepsDone,
        'weights',
        badWeight.value,
        `weight '${badWeight.name}' is ${badWeight.value} (no checkpoint of it is written)`,
      );
    }
    const prefix = this.model.variablePrefix;
    const optimizer: TensorRecord[] = [];
    const weights = await this.optimizer.getWeights();
    try {
      for (const { name, tensor } of weights) {
        if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32') {
          throw new CheckpointError('incompatible', `optimizer weight '${name}' has dtype ${tensor.dtype}`);
        }
        const values = ((await tensor.data()) as Float32Array | Int32Array).slice();
        optimizer.push({
          name: name.startsWith(prefix) ? MODEL_REF + name.slice(prefix.length) : name,
          shape: [...tensor.shape],
          dtype: tensor.dtype,
          storeAs: storeAs.get(name) ?? tensor.dtype,
          values,
        });
      }
    } finally {
      tf.dispose(weights.map((w) => w.tensor));
    }
    const badState = firstNonFinite(optimizer.filter((t) => t.dtype === 'float32'));
    if (badState) {
      throw new DivergenceError(
        this.stepsDone,
        'weights',
        badState.value,
        `optimizer state '${badState.name}' is ${badState.value} (no checkpoint of it is written)`,
      );
    }
    return {
      config: this.config,
      step: this.stepsDone,
      backend: tf.getBackend(),
      trainSeconds: this.trainMs / 1000,
      dataCursor: this.dataset.cursor(),
      rng: { dropout: this.dropout.state },
      model,
      optimizer,
      ...(meta ? { meta } : {}),
      history: this.log.snapshot(),
      ...(this.guard
        ? {
            skips: {
              skippedSteps: this.guard.skippedSteps,
              consecutiveSkips: this.guard.consecutiveSkips,
            },
          }
        : {}),
    };
  }

  private async load(checkpoint: Checkpoint): Promise<void> {
    refuseNonFinite(checkpoint, 'cannot resume from a checkpoint of a diverged run');
    const incompatible = (problem: string): never => {
      throw new CheckpointError(
        'incompatible',
        `checkpoint does not fit this ${this.config.model}: ${problem}`,
      );
    };
    const saved = new Map(checkpoint.model.map((t) => [t.name, t]));
    const tensors = this.model.tensors();
    for (const { name, variable } of tensors) {
      const t = saved.get(name) ?? incompatible(`it has no tensor '${name}'`);
      if (!tf.util.arraysEqual([...t.shape], variable.shape) || t.dtype !== 'float32') {
        incompatible(`'${name}' is ${t.dtype}[${t.shape}], the model has float32[${variable.shape}]`);
      }
    }
    if (saved.size !== tensors.length) {
      const extra = [...saved.keys()].filter((n) => !tensors.some((t) => t.name === n));
      incompatible(`unexpected tensors ${extra.join(', ')}`);
    }
    const prefix = this.model.variablePrefix;
    const weights = checkpoint.optimizer.map((t) => ({
      name: t.name.startsWith(MODEL_REF) ? prefix + t.name.slice(MODEL_REF.length) : t.name,
      tensor: tf.tensor(t.values, [...t.shape], t.dtype),
    }));
    try {
      await this.optimizer.setWeights(weights);
    } finally {
      tf.dispose(weights.map((w) => w.tensor));
    }
    for (const { name, variable } of tensors) {
      tf.tidy(() => variable.assign(tf.tensor(saved.get(name)!.values, variable.shape, 'float32')));
    }
    this.dataset.restore(checkpoint.dataCursor);
    this.dropout = new Mulberry32(checkpoint.rng.dropout);
    this.stepsDone = checkpoint.step;
    this.trainMs = (checkpoint.trainSeconds ?? 0) * 1000;
    this.log = StepLog.resume(checkpoint);
    if (checkpoint.skips) this.guard?.restore(checkpoint.skips);
  }

  private checkAlive(): void {
    if (this.disposed) throw new TrainerError('disposed', 'this trainer has been disposed');
  }

  /** Frees the model and the optimizer state. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
    this.optimizer.dispose();
  }
}
