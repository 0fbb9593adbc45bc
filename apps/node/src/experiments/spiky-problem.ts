// The synthetic problem of `gradsign spiky`: a noisy quadratic where one group of parameters gets its gradient
// signal only in rare, large spikes. It shows why Adam's long β2 matters and whether GradSign, which keeps no second
// moment, copes.
//
// The generator, exactly. Parameters w ∈ R^(2n): the "dense" group is w[0..n), the "spiky" group w[n..2n).
// One mulberry32 stream (`@gradsign/optim-core/rng`) seeded with the run's seed draws, in this order: the optimum
// w*[i] = 2·U − 1 for i = 0..2n−1 (U uniform in [0, 1)); then at every step, for i = 0..2n−1:
//   dense i:  z ~ N(0, 1);                   g[i] = (w[i] − w*[i]) + denseNoise · z
//   spiky i:  U, then z ~ N(0, 1); a = U < p ? S : 0;
//                                            g[i] = a · (w[i] − w*[i]) + spikeNoise · z
// N(0, 1) is Box–Muller from two uniforms: √(−2 ln(1 − U1)) · cos(2π U2). Since E[a] = p·S (1 by default), both
// groups have the same expected loss ½ (w − w*)²: the spiky group just sees its curvature in rare bursts, and between
// them only small noise. The draws never depend on w, so every optimizer sees the same stream of spikes and noise
// (the same seed gives the same w*, spikes and noise), and the gradient differs only through its own w. w starts at 0.
import { Mulberry32 } from '@gradsign/optim-core/rng';
import * as tf from '@tensorflow/tfjs-core';

/** The generator's parameters (see the file's comment). */
export interface SpikyProblem {
  /** Parameters per group. */
  readonly dim: number;
  /** p: the chance a spiky parameter gets a spike at a step. */
  readonly spikeProbability: number;
  /** S: the spike's curvature. */
  readonly spikeScale: number;
  /** The sd of the spiky group's gradient noise. */
  readonly spikeNoise: number;
  /** The sd of the dense group's gradient noise. */
  readonly denseNoise: number;
}

export const DEFAULT_PROBLEM: SpikyProblem = Object.freeze({
  dim: 64,
  spikeProbability: 0.01,
  spikeScale: 100,
  spikeNoise: 0.01,
  denseNoise: 0.5,
});

/** The stream of one seed: the optimum, then each step's gradient at w. */
export class SpikyStream {
  readonly optimum: Float64Array;
  private readonly rng: Mulberry32;

  constructor(
    readonly problem: SpikyProblem,
    seed: number,
  ) {
    this.rng = new Mulberry32(seed);
    this.optimum = Float64Array.from({ length: 2 * problem.dim }, () => 2 * this.rng.nextFloat() - 1);
  }

  private normal(): number {
    const u1 = this.rng.nextFloat();
    const u2 = this.rng.nextFloat();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** The next step's gradient at `w`. */
  gradient(w: ArrayLike<number>): Float32Array {
    const { dim, spikeProbability, spikeScale, spikeNoise, denseNoise } = this.problem;
    const g = new Float32Array(2 * dim);
    for (let i = 0; i < 2 * dim; i++) {
      const d = w[i]! - this.optimum[i]!;
      if (i < dim) g[i] = d + denseNoise * this.normal();
      else {
        const a = this.rng.nextFloat() < spikeProbability ? spikeScale : 0;
        g[i] = a * d + spikeNoise * this.normal();
      }
    }
    return g;
  }

  /** Root mean square distance to the optimum of each group. */
  distance(w: ArrayLike<number>): { dense: number; spiky: number } {
    const n = this.problem.dim;
    let dense = 0;
    let spiky = 0;
    for (let i = 0; i < n; i++) {
      dense += (w[i]! - this.optimum[i]!) ** 2;
      spiky += (w[n + i]! - this.optimum[n + i]!) ** 2;
    }
    return { dense: Math.sqrt(dense / n), spiky: Math.sqrt(spiky / n) };
  }
}

/** Runs so far in this process (each run's variable gets its own name). */
let runs = 0;

/** One point of a run's curve. */
export interface DistancePoint {
  readonly step: number;
  readonly dense: number;
  readonly spiky: number;
}

/**
 * Runs `optimizer` (a real tfjs optimizer, e.g. from `createOptimizer`) for `steps` steps on the stream of `seed`:
 * each step reads w, computes the stream's gradient there and applies it with `optimizer.applyGradients`. Returns
 * the distance to the optimum per group at step 0, every `every` steps and at the end.
 */
export function runSpiky(
  optimizer: tf.Optimizer,
  problem: SpikyProblem,
  seed: number,
  steps: number,
  every: number,
): DistancePoint[] {
  const stream = new SpikyStream(problem, seed);
  runs += 1;
  const w = tf.variable(tf.zeros([2 * problem.dim]), true, `spiky-w-${runs}`);
  const curve: DistancePoint[] = [{ step: 0, ...stream.distance(w.dataSync()) }];
  try {
    for (let step = 1; step <= steps; step++) {
      const grad = tf.tensor1d(stream.gradient(w.dataSync()));
      optimizer.applyGradients({ [w.name]: grad });
      grad.dispose();
      if (step % every === 0 || step === steps) curve.push({ step, ...stream.distance(w.dataSync()) });
    }
  } finally {
    optimizer.dispose();
    w.dispose();
  }
  return curve;
}
