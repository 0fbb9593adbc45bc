import * as tf from '@tensorflow/tfjs-core';

/**
 * Test problems with closed-form gradients, so the suite needs no autodiff (and no gradient registration).
 * Each `gradient` returns a new tensor the caller owns; `loss` returns a number.
 */
export interface Problem {
  name: string;
  /** The starting point, as a new tensor. */
  start: () => tf.Tensor;
  /** The loss at `x`, as a number. */
  loss: (x: tf.Tensor) => number;
  /** The exact gradient at `x`, as a new tensor shaped like `x`. */
  gradient: (x: tf.Tensor) => tf.Tensor;
}

/** f(x) = Σ aᵢ (xᵢ - bᵢ)², with aᵢ in [0.5, 2] and bᵢ in [-1, 1], from x = 0. */
export function quadratic(size = 64): Problem {
  const a = Float32Array.from({ length: size }, (_, i) => 0.5 + (1.5 * ((i * 37) % size)) / size);
  const b = Float32Array.from({ length: size }, (_, i) => Math.sin(i + 1));
  return {
    name: `quadratic(${size})`,
    start: () => tf.zeros([size]),
    loss: (x) =>
      tf.tidy(() => tf.sum(tf.mul(tf.tensor1d(a), tf.square(tf.sub(x, tf.tensor1d(b)))))).dataSync()[0]!,
    gradient: (x) => tf.tidy(() => tf.mul(tf.mul(tf.tensor1d(a), 2), tf.sub(x, tf.tensor1d(b)))),
  };
}

/** Rosenbrock f(x, y) = (1 - x)² + 100 (y - x²)², minimum 0 at (1, 1), from (-0.5, 0.5). */
export function rosenbrock(): Problem {
  return {
    name: 'rosenbrock',
    start: () => tf.tensor1d([-0.5, 0.5]),
    loss: (v) => {
      const [x, y] = v.dataSync() as Float32Array;
      return (1 - x!) ** 2 + 100 * (y! - x! ** 2) ** 2;
    },
    gradient: (v) => {
      const [x, y] = v.dataSync() as Float32Array;
      return tf.tensor1d([-2 * (1 - x!) - 400 * x! * (y! - x! ** 2), 200 * (y! - x! ** 2)]);
    },
  };
}

/** Runs `steps` optimizer steps on `problem` and returns the losses at the start and at the end. */
export function optimize(
  opt: { applyGradients(g: tf.NamedTensorMap): void; dispose(): void },
  problem: Problem,
  steps: number,
): { initial: number; final: number; best: number } {
  const x = tf.tidy(() => tf.variable(problem.start()));
  const initial = problem.loss(x);
  let best = initial;
  for (let i = 0; i < steps; i++) {
    const g = problem.gradient(x);
    opt.applyGradients({ [x.name]: g });
    g.dispose();
    if (i % 10 === 9) best = Math.min(best, problem.loss(x));
  }
  const final = problem.loss(x);
  x.dispose();
  opt.dispose();
  return { initial, final, best: Math.min(best, final) };
}
