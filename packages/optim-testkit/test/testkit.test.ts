import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bitsEqual,
  exactMismatches,
  GOLDEN_TOLERANCE,
  type GoldenRun,
  mismatches,
  optimize,
  quadratic,
  replayGolden,
  rosenbrock,
  type TestableOptimizer,
} from '../src/index.js';

/** A stateless gradient step, enough to exercise the harness (the suite itself runs in optim-core's tests). */
class PlainStep implements TestableOptimizer {
  constructor(private readonly lr: number) {}
  applyGradients(gradients: tf.NamedTensorMap): void {
    for (const [name, g] of Object.entries(gradients)) {
      const v = tf.engine().registeredVariables[name]!;
      v.assign(tf.tidy(() => tf.sub(v, tf.mul(g, this.lr))));
    }
  }
  readState(): tf.Tensor {
    throw new Error('no state');
  }
  writeState(): void {
    throw new Error('no state');
  }
  stateBytes(): number {
    return 0;
  }
  async getWeights() {
    return [];
  }
  async setWeights() {}
  dispose(): void {}
}

const run = (lr: number): GoldenRun => ({
  name: 'plain',
  create: () => new PlainStep(lr),
  param0: [1, 2],
  grads: [
    [1, -1],
    [2, 0.5],
  ],
  steps: [
    { param: [0.9, 2.1], state: {} },
    { param: [0.7, 2.05], state: {} },
  ],
});

describe('optim-testkit harness', () => {
  beforeAll(() => tf.setBackend('cpu'));

  it('applies the golden tolerance: 1e-5 relative plus 1e-6 of the largest magnitude', () => {
    expect(GOLDEN_TOLERANCE).toEqual({ rel: 1e-5, absOfMax: 1e-6 });
    const expected = [100, 1];
    // allowed at [1]: 1e-5·1 + 1e-6·100 = 1.1e-4
    expect(mismatches([100, 1 + 1e-4], expected, GOLDEN_TOLERANCE)).toEqual([]);
    expect(mismatches([100, 1 + 2e-4], expected, GOLDEN_TOLERANCE).map((m) => m.index)).toEqual([1]);
    expect(mismatches([Number.NaN, 1], expected, GOLDEN_TOLERANCE).map((m) => m.index)).toEqual([0]);
    expect(exactMismatches([1, 2, 3], [1, 2, 4]).map((m) => m.index)).toEqual([2]);
  });

  it('compares floats bit for bit, telling -0 from +0', () => {
    expect(bitsEqual(Float32Array.of(0, 1.5), Float32Array.of(0, 1.5))).toBe(true);
    expect(bitsEqual(Float32Array.of(-0), Float32Array.of(0))).toBe(false);
    expect(bitsEqual(Float32Array.of(1), Float32Array.of(1, 2))).toBe(false);
  });

  it('replays a golden run and reports the steps a wrong optimizer gets wrong', async () => {
    expect(await replayGolden(run(0.1))).toEqual([]);
    const failures = await replayGolden(run(0.2));
    expect(failures.map((f) => [f.step, f.what])).toEqual([
      [1, 'param'],
      [2, 'param'],
    ]);
  });

  it('measures convergence on its test problems', () => {
    const q = optimize(new PlainStep(0.1), quadratic(16), 100);
    expect(q.final).toBeLessThan(1e-3 * q.initial);
    const diverging = optimize(new PlainStep(2), quadratic(16), 20);
    expect(diverging.final).toBeGreaterThan(diverging.initial);
    const r = optimize(new PlainStep(1e-3), rosenbrock(), 3000);
    expect(r.best).toBeLessThan(r.initial);
  });
});
