import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { NODE_BACKENDS, useBackend } from './backends.js';
import { describeFailures, type GoldenRun, replayGolden } from './golden.js';
import { layersRoundTrip } from './layers.js';
import { optimize, quadratic, rosenbrock } from './problems.js';
import { bitsEqual, GOLDEN_TOLERANCE, mismatches } from './tolerance.js';
import type { TestableOptimizer } from './types.js';

/** What {@link describeOptimizer} tests: the optimizer, its slots and the checks to run with their thresholds. */
export interface ConformanceOptions {
  /** Shown in test names. */
  name: string;
  /** Creates a fresh optimizer; `overrides` (e.g. `{ learningRate: -1 }`) are merged into its config. */
  create: (overrides?: Record<string, unknown>) => TestableOptimizer;
  /** The optimizer's state slots; integer slots are compared exactly across backends. */
  slots: readonly string[];
  integerSlots?: readonly string[];
  /** Backends to run on; default every backend available in Node (cpu, wasm). */
  backends?: readonly string[];
  golden?: readonly GoldenRun[];
  /** Steps on a 64-dim quadratic, and the final/initial loss ratio to reach. */
  quadratic?: { steps: number; maxRatio: number };
  /** Steps on Rosenbrock from (-0.5, 0.5), and the best loss to reach; `false` skips it. */
  rosenbrock?: { steps: number; maxLoss: number } | false;
  /** The most state bytes a variable of `n` elements may take; checked against `tf.memory()`. */
  maxStateBytes?: (n: number) => number;
  /** Variable sizes for the state-bytes check. */
  stateSizes?: readonly number[];
}

type Weights = { name: string; tensor: tf.Tensor }[];

const isOptimizerError = (code: string) => (error: unknown) =>
  error instanceof Error &&
  error.name === 'OptimizerError' &&
  (error as Error & { code?: string }).code === code;

function expectOptimizerError(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected an OptimizerError with code '${code}'`).toBeInstanceOf(Error);
  expect(isOptimizerError(code)(thrown), `got ${String(thrown)}`).toBe(true);
}

async function expectOptimizerErrorAsync(fn: () => Promise<unknown>, code: string): Promise<void> {
  const error = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isOptimizerError(code)(error), `expected OptimizerError '${code}', got ${String(error)}`).toBe(true);
}

/** A deterministic gradient sequence, well away from zero, shared by every backend. */
function fixedGradient(size: number, step: number): tf.Tensor {
  return tf.tensor1d(Float32Array.from({ length: size }, (_, i) => Math.sin(1.7 * i + 0.31 * step) + 0.05));
}

/** A variable of zeros that owns its data (the initial tensor is not left behind). */
export function zerosVariable(shape: number[]): tf.Variable {
  const init = tf.zeros(shape);
  const variable = tf.variable(init);
  init.dispose();
  return variable;
}

function train(opt: TestableOptimizer, x: tf.Variable, steps: number, from = 0): void {
  for (let s = from; s < from + steps; s++) {
    const g = fixedGradient(x.size, s);
    opt.applyGradients({ [x.name]: g });
    g.dispose();
  }
}

async function snapshot(opt: TestableOptimizer, x: tf.Variable, slots: readonly string[]) {
  const state: Record<string, Float32Array | Int32Array> = {};
  for (const slot of slots) {
    const t = opt.readState(x, slot);
    state[slot] = (await t.data()) as Float32Array | Int32Array;
    t.dispose();
  }
  return { param: (await x.data()) as Float32Array, state };
}

function disposeWeights(weights: Weights): void {
  for (const w of weights) w.tensor.dispose();
}

/** Registers the gradsign optimizer conformance tests for one optimizer. Call it at the top of a vitest file. */
export function describeOptimizer(options: ConformanceOptions): void {
  const backends = options.backends ?? NODE_BACKENDS;
  const stateSizes = options.stateSizes ?? [1, 67, 66954];

  for (const backend of backends) {
    describe(`${options.name} conformance on ${backend}`, () => {
      beforeAll(() => useBackend(backend));

      for (const run of options.golden ?? []) {
        it(`matches the golden vectors: ${run.name}`, async () => {
          const failures = await replayGolden(run);
          expect(failures, describeFailures(failures)).toEqual([]);
        });
      }

      it('converges on a quadratic', () => {
        const { steps, maxRatio } = options.quadratic ?? { steps: 500, maxRatio: 0.01 };
        const result = optimize(options.create(), quadratic(64), steps);
        expect(result.final).toBeLessThan(maxRatio * result.initial);
      });

      const rosenbrockGoal = options.rosenbrock ?? { steps: 2000, maxLoss: 0.05 };
      if (rosenbrockGoal !== false) {
        it('converges on Rosenbrock', () => {
          const { steps, maxLoss } = rosenbrockGoal;
          const result = optimize(options.create(), rosenbrock(), steps);
          expect(result.best).toBeLessThan(maxLoss);
          expect(result.best).toBeLessThan(result.initial);
        });
      }

      it('leaks no tensor over 1,000 steps', () => {
        const opt = options.create();
        const x = zerosVariable([100]);
        train(opt, x, 1);
        const after1 = tf.memory().numTensors;
        train(opt, x, 999, 1);
        expect(tf.memory().numTensors).toBe(after1);
        opt.dispose();
        x.dispose();
      });

      it('frees everything on dispose', () => {
        const before = tf.memory();
        const opt = options.create();
        const x = zerosVariable([257]);
        const y = zerosVariable([3, 5]);
        for (let s = 0; s < 5; s++) {
          const gx = fixedGradient(257, s);
          const gy = tf.tidy(() => tf.reshape(fixedGradient(15, s), [3, 5]));
          opt.applyGradients({ [x.name]: gx, [y.name]: gy });
          tf.dispose([gx, gy]);
        }
        expect(opt.stateBytes()).toBeGreaterThanOrEqual(0);
        opt.dispose();
        expect(opt.stateBytes()).toBe(0);
        x.dispose();
        y.dispose();
        const after = tf.memory();
        expect(after.numTensors).toBe(before.numTensors);
        expect(after.numBytes).toBe(before.numBytes);
      });

      it('round-trips getWeights → setWeights bit-exactly and keeps training identically', async () => {
        const a = options.create();
        const x = zerosVariable([131]);
        train(a, x, 7);
        const weights = await a.getWeights();
        const b = options.create();
        await b.setWeights(weights);
        const again = await b.getWeights();
        expect(again.map((w) => w.name)).toEqual(weights.map((w) => w.name));
        weights.forEach((w, i) => {
          expect(again[i]!.tensor.dtype).toBe(w.tensor.dtype);
          expect(
            bitsEqual(again[i]!.tensor.dataSync() as Float32Array, w.tensor.dataSync() as Float32Array),
          ).toBe(true);
        });
        // Continue from the same point with a, then rewind the parameter and continue with b.
        const checkpoint = tf.clone(x);
        train(a, x, 5, 7);
        const sa = await snapshot(a, x, options.slots);
        x.assign(checkpoint);
        train(b, x, 5, 7);
        const sb = await snapshot(b, x, options.slots);
        expect(bitsEqual(sa.param, sb.param)).toBe(true);
        for (const slot of options.slots) expect(bitsEqual(sa.state[slot]!, sb.state[slot]!)).toBe(true);
        disposeWeights(weights);
        disposeWeights(again);
        tf.dispose([x, checkpoint]);
        a.dispose();
        b.dispose();
      });

      it('survives tfjs-layers save → load → fit bit-identically, beside models of the same variable names', async () => {
        const result = await layersRoundTrip(() => options.create() as unknown as tf.Optimizer);
        // Namespaced, so that no class of tfjs's own is replaced in the serialization registry.
        expect(result.savedClassName).toMatch(/^gradsign\./);
        expect(result.loadedClassName).toBe(result.savedClassName);
        // The loaded model's variables were renamed (the saved ones are still alive): restored by position.
        expect(result.loadedNames).not.toEqual(result.savedNames);
        for (const [i, w] of result.resumed.entries())
          expect(bitsEqual(w, result.uninterrupted[i]!)).toBe(true);
      });

      it('reports stateBytes equal to what tf.memory() measures', () => {
        for (const n of stateSizes) {
          const x = zerosVariable([n]);
          const opt = options.create();
          const before = tf.memory().numBytes;
          train(opt, x, 1);
          const measured = tf.memory().numBytes - before;
          expect(opt.stateBytes()).toBe(measured);
          if (options.maxStateBytes) expect(measured).toBeLessThanOrEqual(options.maxStateBytes(n));
          opt.dispose();
          x.dispose();
        }
      });

      it('rejects bad gradients with a typed error and leaves parameters and state untouched', async () => {
        const opt = options.create();
        const x = zerosVariable([10]);
        train(opt, x, 2);
        const before = await snapshot(opt, x, options.slots);
        const bad: [() => unknown, string][] = [
          [() => opt.applyGradients({ [x.name]: tf.zeros([11]) }), 'gradient-shape'],
          [() => opt.applyGradients({ [x.name]: tf.zeros([10], 'int32') }), 'gradient-dtype'],
          [
            () => opt.applyGradients({ [x.name]: tf.ones([10]), 'no such variable': tf.ones([10]) }),
            'unknown-variable',
          ],
        ];
        for (const [fn, code] of bad) expectOptimizerError(fn, code);
        const after = await snapshot(opt, x, options.slots);
        expect(bitsEqual(after.param, before.param)).toBe(true);
        for (const slot of options.slots)
          expect(bitsEqual(after.state[slot]!, before.state[slot]!)).toBe(true);
        opt.dispose();
        x.dispose();
      });

      it('rejects a bad learning rate with a typed error', () => {
        for (const learningRate of [0, -0.1, Number.NaN, Number.POSITIVE_INFINITY]) {
          expectOptimizerError(() => options.create({ learningRate }), 'invalid-config');
        }
      });

      it('rejects setWeights with missing, extra or misshaped entries and keeps its state', async () => {
        const opt = options.create();
        const x = zerosVariable([12]);
        train(opt, x, 3);
        const before = await snapshot(opt, x, options.slots);
        const weights = await opt.getWeights();
        const last = weights[weights.length - 1]!;
        const variants: Weights[] = [
          weights.slice(0, -1),
          [...weights, { name: `${x.name}/unexpected`, tensor: tf.zeros([12]) }],
        ];
        for (const variant of variants) {
          if (variant.length === weights.length - 1 && options.slots.length === 0) continue;
          await expectOptimizerErrorAsync(() => opt.setWeights(variant), 'weights-mismatch');
        }
        const after = await snapshot(opt, x, options.slots);
        expect(bitsEqual(after.param, before.param)).toBe(true);
        for (const slot of options.slots)
          expect(bitsEqual(after.state[slot]!, before.state[slot]!)).toBe(true);
        // A part shaped for another variable can only be told from a renamed one (restored by position) once the
        // state meets its variable: then, at the latest on the next update, before anything changes.
        if (options.slots.length > 0) {
          const misshaped = [
            ...weights.slice(0, -1),
            { name: last.name, tensor: tf.zeros([13], last.tensor.dtype) },
          ];
          const rejectedEarly = await opt.setWeights(misshaped).then(
            () => false,
            () => true,
          );
          if (!rejectedEarly) expectOptimizerError(() => train(opt, x, 1), 'weights-mismatch');
          expect(bitsEqual(x.dataSync() as Float32Array, before.param)).toBe(true);
          misshaped.at(-1)!.tensor.dispose();
        }
        disposeWeights(weights);
        opt.dispose();
        x.dispose();
      });
    });
  }

  if (backends.length > 1) {
    it(`${options.name} gives the same results on ${backends.join(', ')}`, async () => {
      const results = [];
      for (const backend of backends) {
        await useBackend(backend);
        const opt = options.create();
        const x = zerosVariable([1000]);
        train(opt, x, 50);
        results.push({ backend, ...(await snapshot(opt, x, options.slots)) });
        opt.dispose();
        x.dispose();
      }
      const [first, ...rest] = results;
      for (const other of rest) {
        const paramMiss = mismatches(other.param, first!.param, GOLDEN_TOLERANCE);
        expect(paramMiss, `param ${first!.backend} vs ${other.backend}`).toEqual([]);
        for (const slot of options.slots) {
          const a = first!.state[slot]!;
          const b = other.state[slot]!;
          if (options.integerSlots?.includes(slot)) expect(Array.from(b)).toEqual(Array.from(a));
          else
            expect(
              mismatches(b, a, GOLDEN_TOLERANCE),
              `${slot} ${first!.backend} vs ${other.backend}`,
            ).toEqual([]);
        }
      }
    });
  }
}
