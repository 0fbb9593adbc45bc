import * as tf from '@tensorflow/tfjs-core';
import { exactMismatches, GOLDEN_TOLERANCE, type Mismatch, mismatches, type Tolerance } from './tolerance.js';
import type { TestableOptimizer } from './types.js';

/**
 * A recorded reference run: the starting parameter, the gradient of every step and, after every step, the
 * parameter and each state slot (decoded values).
 */
export interface GoldenRun {
  name: string;
  /** Creates a fresh optimizer configured as the reference run was. */
  create: () => TestableOptimizer;
  param0: number[];
  grads: number[][];
  steps: { param: number[]; state: Record<string, number[]> }[];
  /** State before step 1, when it is not what the optimizer allocates (GradSign's recorded counters). */
  initialState?: Record<string, number[]>;
  /** Slots whose values are integers and must match exactly. */
  exactSlots?: string[];
  tolerance?: Tolerance;
}

/** One step of a golden replay where the parameter or a state slot (`what`) fell outside tolerance. */
export interface GoldenStepFailure {
  step: number;
  what: string;
  mismatches: Mismatch[];
}

/**
 * Replays a golden run, re-syncing the parameter and state to the reference before every step (so each step's
 * error is measured on its own, as bitsandbytes' tests do), and returns every step that falls outside tolerance.
 */
export async function replayGolden(run: GoldenRun): Promise<GoldenStepFailure[]> {
  const tol = run.tolerance ?? GOLDEN_TOLERANCE;
  const exact = new Set(run.exactSlots ?? []);
  const opt = run.create();
  const param = tf.tidy(() => tf.variable(tf.tensor1d(run.param0, 'float32')));
  const failures: GoldenStepFailure[] = [];
  const write = (state: Record<string, number[]>) => {
    for (const [slot, values] of Object.entries(state)) {
      const t = tf.tensor1d(values, exact.has(slot) ? 'int32' : 'float32');
      opt.writeState(param, slot, t);
      t.dispose();
    }
  };
  try {
    for (let k = 0; k < run.steps.length; k++) {
      const before = k === 0 ? { param: run.param0, state: run.initialState } : run.steps[k - 1]!;
      const start = tf.tensor1d(before.param, 'float32');
      param.assign(start);
      start.dispose();
      if (before.state) write(before.state);
      const grad = tf.tensor1d(run.grads[k]!, 'float32');
      opt.applyGradients({ [param.name]: grad });
      grad.dispose();
      const expected = run.steps[k]!;
      const actualParam = await param.data();
      const paramMiss = mismatches(actualParam as Float32Array, Float32Array.from(expected.param), tol);
      if (paramMiss.length) failures.push({ step: k + 1, what: 'param', mismatches: paramMiss });
      for (const [slot, values] of Object.entries(expected.state)) {
        const t = opt.readState(param, slot);
        const actual = await t.data();
        t.dispose();
        const miss = exact.has(slot)
          ? exactMismatches(actual as Int32Array, values)
          : mismatches(actual as Float32Array, Float32Array.from(values), tol);
        if (miss.length) failures.push({ step: k + 1, what: slot, mismatches: miss });
      }
    }
  } finally {
    opt.dispose();
    param.dispose();
  }
  return failures;
}

/** A readable summary of the first failures, for assertion messages. */
export function describeFailures(failures: GoldenStepFailure[], limit = 5): string {
  return failures
    .slice(0, limit)
    .map((f) => {
      const m = f.mismatches[0]!;
      return `step ${f.step} ${f.what}: ${f.mismatches.length} element(s) off, e.g. [${m.index}] ${m.actual} vs ${m.expected} (allowed ${m.allowed.toExponential(2)})`;
    })
    .join('\n');
}

type Json = Record<string, unknown>;

/** `gradsign.json` of the golden set: one run from recorded counters. */
export interface GradSignGoldenFile {
  lr: number;
  counts0: number[];
  param0: number[];
  grads: number[][];
  steps: { counts: number[]; param: number[] }[];
}

/** `adam.json` / `sgd.json` of the golden set: variants sharing the parameter and gradients. */
export interface VariantGoldenFile {
  param0: number[];
  grads: number[][];
  variants: Record<string, { config: Json; steps: Record<string, number[]>[] }>;
}

/** The run recorded in `gradsign.json`; `create` gets the recorded learning rate. */
export function gradSignGoldenRun(
  file: GradSignGoldenFile,
  create: (learningRate: number) => TestableOptimizer,
): GoldenRun {
  return {
    name: 'gradsign',
    create: () => create(file.lr),
    param0: file.param0,
    grads: file.grads,
    initialState: { counts: file.counts0 },
    steps: file.steps.map((s) => ({ param: s.param, state: { counts: s.counts } })),
    exactSlots: ['counts'],
  };
}

/**
 * One run per variant of `adam.json` or `sgd.json`. `slots` maps the optimizer's slot names to the recorded keys
 * (e.g. `{ m: 'exp_avg' }`); `create` gets the variant's name and its PyTorch config.
 */
export function variantGoldenRuns(
  file: VariantGoldenFile,
  slots: Record<string, string>,
  create: (variant: string, torchConfig: Json) => TestableOptimizer,
): GoldenRun[] {
  return Object.entries(file.variants).map(([name, variant]) => ({
    name,
    create: () => create(name, variant.config),
    param0: file.param0,
    grads: file.grads,
    steps: variant.steps.map((s) => ({
      param: s.param!,
      state: Object.fromEntries(
        Object.entries(slots)
          .filter(([, key]) => key in s)
          .map(([slot, key]) => [slot, s[key]!]),
      ),
    })),
  }));
}
