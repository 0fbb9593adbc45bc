import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import { biasLeakyAffine, biasLeakyBatchNorm, setBiasLeakyBatchNormSimd } from '../src/index.js';
import { compileBiasLeakyBatchNorm } from '../src/kernels/bias-leaky-batch-norm-simd.js';
import type { ReplicaSum } from '../src/kernels/replica-sum.js';
import { relErr, useBackend } from './helpers.js';

const SLOPE = 0.2;
const EPS = 1e-5;

/** `relErr` of two tensors of the same shape. */
function relError(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return relErr(a.dataSync(), b.dataSync());
}

/** The block tail composed from tfjs ops, as `BatchNorm.apply` computes it in training. */
function composed(x: tf.Tensor4D, bias: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) {
  const a = tf.leakyRelu(tf.add(x, bias), SLOPE);
  const mean = tf.mean(a, [0, 1, 2]);
  const centered = tf.sub(a, mean);
  const variance = tf.mean(tf.square(centered), [0, 1, 2]);
  const y = tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, EPS))), gamma), beta);
  return { y, mean, variance };
}

function randomInputs(shape: [number, number, number, number], seed: number) {
  const c = shape[3];
  return {
    x: tf.randomNormal(shape, 0.1, 1, 'float32', seed) as tf.Tensor4D,
    bias: tf.randomUniform([c], -0.3, 0.3, 'float32', seed + 1),
    gamma: tf.randomUniform([c], 0.5, 1.5, 'float32', seed + 2),
    beta: tf.randomUniform([c], -0.5, 0.5, 'float32', seed + 3),
    r: tf.randomNormal(shape, 0, 1, 'float32', seed + 4) as tf.Tensor4D,
  };
}

/**
 * Two replicas of one batch, played in turn on one thread: replica B's own sums are recorded (its forward sums
 * with A's added, as the group would), then replica A runs with B's recorded sums added at each call. A's rows
 * must then be those of the whole batch: output, statistics and input gradient.
 */
async function replicaSumCase(): Promise<void> {
  const shape: [number, number, number, number] = [6, 5, 5, 8];
  const { x, bias, gamma, beta, r } = randomInputs(shape, 70);
  const rowsA = 2;
  const [xA, xB] = tf.split(x, [rowsA, shape[0] - rowsA], 0) as tf.Tensor4D[];
  const [rA, rB] = tf.split(r, [rowsA, shape[0] - rowsA], 0);
  const run = (xs: tf.Tensor4D, rs: tf.Tensor, sum?: ReplicaSum) => {
    const out = biasLeakyBatchNorm(xs, bias, gamma, beta, SLOPE, EPS, sum);
    const [dx] = tf.grads((a: tf.Tensor) =>
      tf.sum(tf.mul(biasLeakyBatchNorm(a as tf.Tensor4D, bias, gamma, beta, SLOPE, EPS, sum).y, rs)),
    )([xs]);
    return { ...out, dx: dx! };
  };
  const own =
    (record: Float64Array[]): ReplicaSum =>
    (values) => {
      record.push(values.slice());
    };
  /** Records this replica's own sums (when `record` is given), then adds the other replica's, call by call. */
  const adding = (others: Float64Array[], record?: Float64Array[]): ReplicaSum => {
    let call = 0;
    return (values) => {
      record?.push(values.slice());
      const other = others[call++]!;
      for (let i = 0; i < values.length; i++) values[i] = values[i]! + other[i]!;
    };
  };
  // Each run calls the sum three times: the forward, the gradient's forward, its backward. A's forward sums:
  const sumsA: Float64Array[] = [];
  tf.dispose(Object.values(run(xA!, rA!, own(sumsA))));
  // B with A's forward sums added: B's own forward and backward sums are what the group would get from B.
  const sumsB: Float64Array[] = [];
  const forwardA = [sumsA[0]!, sumsA[0]!, new Float64Array(sumsA[0]!.length)];
  tf.dispose(Object.values(run(xB!, rB!, adding(forwardA, sumsB))));
  const gotA = run(xA!, rA!, adding(sumsB));
  const whole = run(x, r);
  const [wholeYA] = tf.split(whole.y, [rowsA, shape[0] - rowsA], 0);
  const [wholeDxA] = tf.split(whole.dx, [rowsA, shape[0] - rowsA], 0);
  expect(relError(gotA.mean, whole.mean)).toBeLessThanOrEqual(1e-5);
  expect(relError(gotA.variance, whole.variance)).toBeLessThanOrEqual(1e-5);
  expect(relError(gotA.y, wholeYA!)).toBeLessThanOrEqual(1e-5);
  expect(relError(gotA.dx, wholeDxA!)).toBeLessThanOrEqual(1e-5);
  // Without the sum, A's rows are normalised on their own: far from the whole batch's.
  const alone = run(xA!, rA!);
  expect(relError(alone.y, wholeYA!)).toBeGreaterThan(1e-3);
  tf.dispose([x, bias, gamma, beta, r, xA!, xB!, rA!, rB!, wholeYA!, wholeDxA!]);
  tf.dispose([...Object.values(gotA), ...Object.values(whole), ...Object.values(alone)]);
}

describe.each(['cpu', 'wasm'] as const)(
  'BiasLeakyBatchNorm (bias + leakyReLU + BatchNorm) on %s',
  (backend) => {
    test.each([
      [[4, 6, 5, 8], 10],
      [[32, 7, 7, 32], 20],
      [[2, 28, 28, 32], 30],
      [[1, 1, 1, 3], 40],
    ] as [[number, number, number, number], number][])(
      'forward, statistics and all four gradients match the composed ops' + ' (shape %j)',
      async (shape, seed) => {
        await useBackend(backend);
        const { x, bias, gamma, beta, r } = randomInputs(shape, seed);
        const loss = (f: typeof composed) => (xa: tf.Tensor, ba: tf.Tensor, ga: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.mul(f(xa as tf.Tensor4D, ba, ga, bb).y, r));
        const fused = (xa: tf.Tensor4D, ba: tf.Tensor, ga: tf.Tensor, bb: tf.Tensor) =>
          biasLeakyBatchNorm(xa, ba, ga, bb, SLOPE, EPS);
        const want = composed(x, bias, gamma, beta);
        const got = fused(x, bias, gamma, beta);
        expect(relError(got.y, want.y)).toBeLessThanOrEqual(1e-4);
        expect(relError(got.mean, want.mean)).toBeLessThanOrEqual(1e-4);
        expect(relError(got.variance, want.variance)).toBeLessThanOrEqual(1e-4);
        const gWant = tf.grads(loss(composed))([x, bias, gamma, beta]);
        const gGot = tf.grads(loss(fused))([x, bias, gamma, beta]);
        for (let i = 0; i < 4; i++) expect(relError(gGot[i]!, gWant[i]!)).toBeLessThanOrEqual(1e-4);
        tf.dispose([x, bias, gamma, beta, r, want, got, gWant, gGot]);
      },
    );

    test('a dead channel (every value ≤ 0, so leakyReLU scales all of it) and a constant channel', async () => {
      await useBackend(backend);
      const shape: [number, number, number, number] = [3, 4, 4, 3];
      const base = tf.randomNormal(shape, 0, 1, 'float32', 7) as tf.Tensor4D;
      // Channel 0 all negative, channel 1 constant, channel 2 mixed.
      const x = tf.tidy(() => {
        const [c0, , c2] = tf.split(base, 3, 3);
        return tf.concat(
          [tf.sub(tf.neg(tf.abs(c0!)), 0.1), tf.fill([3, 4, 4, 1], 0.7), c2!],
          3,
        ) as tf.Tensor4D;
      });
      const bias = tf.tensor1d([0, 0, 0.1]);
      const gamma = tf.tensor1d([1.2, 0.8, 1]);
      const beta = tf.tensor1d([0.1, -0.2, 0]);
      const r = tf.randomNormal(shape, 0, 1, 'float32', 8);
      const want = composed(x, bias, gamma, beta);
      const got = biasLeakyBatchNorm(x, bias, gamma, beta, SLOPE, EPS);
      expect(relError(got.y, want.y)).toBeLessThanOrEqual(1e-4);
      const lossOf =
        (f: (...t: tf.Tensor[]) => tf.Tensor) =>
        (...t: tf.Tensor[]) =>
          tf.sum(tf.mul(f(...t), r));
      const gWant = tf.grads(lossOf((a, b, g, e) => composed(a as tf.Tensor4D, b!, g!, e!).y))([
        x,
        bias,
        gamma,
        beta,
      ]);
      const gGot = tf.grads(
        lossOf((a, b, g, e) => biasLeakyBatchNorm(a as tf.Tensor4D, b!, g!, e!, SLOPE, EPS).y),
      )([x, bias, gamma, beta]);
      for (let i = 0; i < 4; i++) expect(relError(gGot[i]!, gWant[i]!)).toBeLessThanOrEqual(1e-4);
      tf.dispose([base, x, bias, gamma, beta, r, want, got, gWant, gGot]);
    });

    test('eval form: (leakyReLU(x + bias) − running mean)·scale + β', async () => {
      await useBackend(backend);
      const { x, bias, gamma, beta } = randomInputs([4, 5, 5, 8], 50);
      const rm = tf.randomUniform([8], -0.2, 0.4, 'float32', 55);
      const rv = tf.randomUniform([8], 0.5, 2, 'float32', 56);
      const scale = tf.mul(tf.rsqrt(tf.add(rv, EPS)), gamma);
      const want = tf.add(tf.mul(tf.sub(tf.leakyRelu(tf.add(x, bias), SLOPE), rm), scale), beta);
      const got = biasLeakyAffine(x, bias, rm, scale, beta, SLOPE);
      expect(relError(got, want)).toBeLessThanOrEqual(1e-6);
      tf.dispose([x, bias, gamma, beta, rm, rv, scale, want, got]);
    });

    test('with a replica sum, the rows of one replica get the statistics and input gradient of the whole batch', async () => {
      await useBackend(backend);
      await replicaSumCase();
    });
  },
);

test('wasm: the SIMD kernels agree with the JavaScript loops (forward, eval form and gradients)', async () => {
  await useBackend('wasm');
  const { x, bias, gamma, beta, r } = randomInputs([8, 14, 14, 32], 60);
  const rm = tf.randomUniform([32], -0.2, 0.4, 'float32', 61);
  const scale = tf.randomUniform([32], 0.5, 2, 'float32', 62);
  const run = () => {
    const { y, mean, variance } = biasLeakyBatchNorm(x, bias, gamma, beta, SLOPE, EPS);
    const grads = tf.grads((a, b, g, e) =>
      tf.sum(tf.mul(biasLeakyBatchNorm(a as tf.Tensor4D, b!, g!, e!, SLOPE, EPS).y, r)),
    )([x, bias, gamma, beta]);
    return [y, mean, variance, biasLeakyAffine(x, bias, rm, scale, beta, SLOPE), ...grads];
  };
  const simd = run();
  setBiasLeakyBatchNormSimd(false);
  let plain: tf.Tensor[];
  try {
    plain = run();
  } finally {
    setBiasLeakyBatchNormSimd(true);
  }
  simd.forEach((t, i) => {
    expect(relError(t, plain[i]!), `output ${i}`).toBeLessThanOrEqual(1e-5);
  });
  tf.dispose([x, bias, gamma, beta, r, rm, scale, ...simd, ...plain]);
});

test('src/kernels/generated/*-wasm.ts are the assembled src/kernels/*.wat', () => {
  const script = fileURLToPath(new URL('../scripts/build-simd.mjs', import.meta.url));
  const run = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
});

describe('the SIMD module links to the wasm backend of any build', () => {
  test('an ordinary memory (Node, no threads) and a shared one (threaded build in isolated pages)', () => {
    for (const shared of [false, true]) {
      const module = compileBiasLeakyBatchNorm(shared);
      expect(module, `shared=${shared}`).not.toBeNull();
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 256, shared });
      expect(() => new WebAssembly.Instance(module!, { env: { memory } })).not.toThrow();
      // An import links only to a memory of its own kind, hence the two builds.
      const other = new WebAssembly.Memory({ initial: 1, maximum: 256, shared: !shared });
      expect(() => new WebAssembly.Instance(module!, { env: { memory: other } })).toThrow();
    }
  });
});
