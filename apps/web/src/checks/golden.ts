// The optimizers against their golden vectors (recorded with PyTorch, vendored in @gradsign/optim-core), replayed
// on the active backend with @gradsign/optim-testkit's replayGolden: counters exact, floats within 1e-5 relative
// plus 1e-6 of the tensor's largest magnitude, each step re-synced to the reference.
import { fromPyTorch, GradSign } from '@gradsign/optim-core';
import {
  type GoldenRun,
  type GradSignGoldenFile,
  gradSignGoldenRun,
  replayGolden,
  type VariantGoldenFile,
  variantGoldenRuns,
} from '@gradsign/optim-testkit/golden';
import * as tf from '@tensorflow/tfjs-core';

/** The smallest normal float32; non-zero values below it in magnitude are subnormals. */
export const FLOAT32_MIN_NORMAL = 2 ** -126;

export const isSubnormal = (v: number) => v !== 0 && Math.abs(v) < FLOAT32_MIN_NORMAL;

export interface ElementMismatch {
  step: number;
  /** 'param' or a state slot. */
  what: string;
  index: number;
  /** The gradient this element received at this step. */
  grad: number;
  actual: number;
  expected: number;
}

export interface GoldenReport {
  run: string;
  steps: number;
  /** Elements checked: (parameter + slots) × length × steps. */
  checked: number;
  /** Mismatches at elements whose gradient this step was an ordinary number: each one is a failure. */
  failures: ElementMismatch[];
  /**
   * Mismatches at elements whose gradient this step was a float32 subnormal (such as 1e-40), listed one by one.
   * A backend that flushes subnormals to zero sees those gradients as 0, which GradSign counts as −1.
   */
  subnormalGradient: ElementMismatch[];
}

/** The golden runs of GradSign, Adam (three variants) and SGD (four), from the JSON files at `baseUrl`. */
export async function loadGoldenRuns(baseUrl: string): Promise<GoldenRun[]> {
  const get = async <T>(name: string): Promise<T> => {
    const response = await fetch(new URL(name, baseUrl));
    if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
  const [g, adam, sgd] = await Promise.all([
    get<GradSignGoldenFile>('gradsign.json'),
    get<VariantGoldenFile>('adam.json'),
    get<VariantGoldenFile>('sgd.json'),
  ]);
  return [
    gradSignGoldenRun(g, (learningRate) => new GradSign({ learningRate, init: 'zero' })),
    ...variantGoldenRuns(adam, { m: 'exp_avg', v: 'exp_avg_sq' }, (variant, config) =>
      fromPyTorch(variant === 'adamw' ? 'AdamW' : 'Adam', config),
    ),
    ...variantGoldenRuns(sgd, { momentum: 'momentum_buffer' }, (_variant, config) =>
      fromPyTorch('SGD', config),
    ),
  ];
}

/** Replays every run on the active backend and sorts each mismatching element by the gradient it received. */
export async function goldenCheck(runs: GoldenRun[]): Promise<GoldenReport[]> {
  const reports: GoldenReport[] = [];
  for (const run of runs) {
    const failures = await replayGolden(run);
    const report: GoldenReport = {
      run: run.name,
      steps: run.steps.length,
      checked: run.steps.reduce((n, s) => n + run.param0.length * (1 + Object.keys(s.state).length), 0),
      failures: [],
      subnormalGradient: [],
    };
    for (const f of failures) {
      for (const m of f.mismatches) {
        const grad = run.grads[f.step - 1]![m.index]!;
        const element = {
          step: f.step,
          what: f.what,
          index: m.index,
          grad,
          actual: m.actual,
          expected: m.expected,
        };
        (isSubnormal(grad) ? report.subnormalGradient : report.failures).push(element);
      }
    }
    reports.push(report);
  }
  return reports;
}

/** Whether the active backend flushes float32 subnormals to zero: is 1e-40 > 0 there? */
export async function flushesSubnormals(): Promise<boolean> {
  const t = tf.tidy(() => tf.greater(tf.tensor1d([1e-40, 1e-30], 'float32'), 0));
  const [subnormal, normal] = await t.data();
  t.dispose();
  if (normal !== 1) throw new Error('1e-30 > 0 is false: the comparison itself is broken');
  return subnormal !== 1;
}
