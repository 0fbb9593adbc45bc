// Gradient parity: the gradients the blog-cnn needs (conv2d, maxPool, BatchNorm, leakyReLU, and one whole block),
// computed on the active WebGL backend and on the cpu backend from the same inputs, compared per tensor.
import { Mulberry32 } from '@gradsign/datasets/browser';
import { BatchNorm, ParamStore } from '@gradsign/trainer';
import * as tf from '@tensorflow/tfjs-core';

export interface GradientComparison {
  case: string;
  gradient: string;
  shape: number[];
  /** max |webgl − cpu| over the tensor. */
  maxAbsDiff: number;
  /** max |cpu| over the tensor. */
  maxAbsRef: number;
  /** maxAbsDiff / maxAbsRef: the error relative to the gradient's scale. */
  relative: number;
}

/** An input: its shape and how its values are drawn. */
interface Input {
  shape: number[];
  /** Uniform in [lo, hi); `awayFromZero` redraws values with |v| < it (leakyReLU's kink). */
  lo: number;
  hi: number;
  awayFromZero?: number;
}

interface Case {
  name: string;
  /** Inputs; `c` holds the loss weights (not differentiated), `gamma` and `beta` the BatchNorm's parameters. */
  inputs: Record<string, Input>;
  /** Returns the scalar to differentiate; `v` holds a variable per input, `bn` applies the case's BatchNorm. */
  loss: (v: Record<string, tf.Variable>, bn: (x: tf.Tensor4D) => tf.Tensor4D) => tf.Scalar;
}

const SLOPE = 0.2;
const weights = (shape: number[]): Input => ({ shape, lo: 0.5, hi: 1.5 });

/** sum(c ⊙ y): a loss whose gradient with respect to y is a known, non-uniform c. */
function weightedSum(y: tf.Tensor, c: tf.Tensor): tf.Scalar {
  return tf.sum(tf.mul(y, c));
}

export const PARITY_CASES: readonly Case[] = [
  {
    name: 'conv2d 3×3 same, 1→8 channels, 28×28',
    inputs: {
      x: { shape: [2, 28, 28, 1], lo: -0.5, hi: 1.5 },
      w: { shape: [3, 3, 1, 8], lo: -0.34, hi: 0.34 },
      c: weights([2, 28, 28, 8]),
    },
    loss: (v) => weightedSum(tf.conv2d(v.x as tf.Tensor4D, v.w as tf.Tensor4D, 1, 'same'), v.c!),
  },
  {
    name: 'conv2d 3×3 same, 32→32 channels, 7×7',
    inputs: {
      x: { shape: [2, 7, 7, 32], lo: -1, hi: 1 },
      w: { shape: [3, 3, 32, 32], lo: -0.06, hi: 0.06 },
      c: weights([2, 7, 7, 32]),
    },
    loss: (v) => weightedSum(tf.conv2d(v.x as tf.Tensor4D, v.w as tf.Tensor4D, 1, 'same'), v.c!),
  },
  {
    name: 'maxPool 2×2 stride 2 (windows of negative values included)',
    inputs: { x: { shape: [2, 8, 8, 6], lo: -1.5, hi: 0.5 }, c: weights([2, 4, 4, 6]) },
    loss: (v) => weightedSum(tf.maxPool(v.x as tf.Tensor4D, 2, 2, 'valid'), v.c!),
  },
  {
    name: 'maxPool 3×3 stride 2 valid, 7×7 → 3×3',
    inputs: { x: { shape: [2, 7, 7, 6], lo: -1, hi: 1 }, c: weights([2, 3, 3, 6]) },
    loss: (v) => weightedSum(tf.maxPool(v.x as tf.Tensor4D, 3, 2, 'valid'), v.c!),
  },
  {
    name: 'global max pool over 3×3',
    inputs: { x: { shape: [4, 3, 3, 8], lo: -1, hi: 1 }, c: weights([4, 8]) },
    loss: (v) => weightedSum(tf.max(v.x!, [1, 2]), v.c!),
  },
  {
    name: 'leakyReLU 0.2',
    inputs: { x: { shape: [2, 6, 6, 8], lo: -1, hi: 1, awayFromZero: 0.01 }, c: weights([2, 6, 6, 8]) },
    loss: (v) => weightedSum(tf.leakyRelu(v.x!, SLOPE), v.c!),
  },
  {
    name: "BatchNorm in training mode (the trainer's layer: batch statistics)",
    inputs: {
      x: { shape: [4, 5, 5, 8], lo: -1, hi: 2 },
      gamma: { shape: [8], lo: 0.5, hi: 1.5 },
      beta: { shape: [8], lo: -0.5, hi: 0.5 },
      c: weights([4, 5, 5, 8]),
    },
    loss: (v, bn) => weightedSum(bn(v.x as tf.Tensor4D), v.c!),
  },
  {
    name: 'one blog-cnn block: conv2d 3×3 + bias → leakyReLU 0.2 → BatchNorm → maxPool 2×2',
    inputs: {
      x: { shape: [2, 8, 8, 4], lo: -1, hi: 1 },
      w: { shape: [3, 3, 4, 8], lo: -0.17, hi: 0.17 },
      b: { shape: [8], lo: -0.17, hi: 0.17 },
      gamma: { shape: [8], lo: 0.5, hi: 1.5 },
      beta: { shape: [8], lo: -0.5, hi: 0.5 },
      c: weights([2, 4, 4, 8]),
    },
    loss: (v, bn) => {
      const conv = tf.add(tf.conv2d(v.x as tf.Tensor4D, v.w as tf.Tensor4D, 1, 'same'), v.b!);
      return weightedSum(tf.maxPool(bn(tf.leakyRelu(conv, SLOPE) as tf.Tensor4D), 2, 2, 'valid'), v.c!);
    },
  },
];

function draw(rng: Mulberry32, input: Input): Float32Array {
  const size = input.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    let v: number;
    do v = input.lo + (input.hi - input.lo) * rng.nextFloat();
    while (input.awayFromZero != null && Math.abs(v) < input.awayFromZero);
    out[i] = v;
  }
  return out;
}

/** Gradients of the case's loss with respect to every input except the loss weights `c`, on `backend`. */
async function gradientsOn(backend: string, c: Case, values: Record<string, Float32Array>) {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} is not available`);
  const store = new ParamStore('parity', new Mulberry32(0));
  const layer = c.inputs.gamma ? new BatchNorm(store, 'bn', c.inputs.gamma.shape[0]!) : undefined;
  const pending: Parameters<BatchNorm['apply']>[2] = [];
  const vars: Record<string, tf.Variable> = {};
  const owned: tf.Variable[] = [];
  for (const [name, input] of Object.entries(c.inputs)) {
    const value = tf.tensor(values[name]!, input.shape, 'float32');
    if (layer && (name === 'gamma' || name === 'beta')) {
      // The BatchNorm's own parameters, set to the drawn values, are what gets differentiated.
      layer[name].assign(value);
      vars[name] = layer[name];
    } else {
      vars[name] = tf.variable(value, name !== 'c', `parity/${name}`);
      owned.push(vars[name]);
    }
    value.dispose();
  }
  const bn = (x: tf.Tensor4D) => layer!.apply(x, true, pending);
  const wrt = Object.keys(c.inputs).filter((n) => n !== 'c');
  try {
    const { grads } = tf.variableGrads(
      () => c.loss(vars, bn),
      wrt.map((n) => vars[n]!),
    );
    const out: Record<string, Float32Array> = {};
    for (const n of wrt) out[n] = (await grads[vars[n]!.name]!.data()) as Float32Array;
    tf.dispose(Object.values(grads));
    return out;
  } finally {
    tf.dispose(owned);
    for (const p of pending) tf.dispose([p.mean, p.variance]);
    store.dispose();
  }
}

/** Runs every case on `backend` and on cpu; the caller has initialised both. */
export async function gradientParity(backend = 'webgl'): Promise<GradientComparison[]> {
  const results: GradientComparison[] = [];
  for (const [k, c] of PARITY_CASES.entries()) {
    const rng = new Mulberry32(1000 + k);
    const values = Object.fromEntries(Object.entries(c.inputs).map(([n, input]) => [n, draw(rng, input)]));
    const reference = await gradientsOn('cpu', c, values);
    const actual = await gradientsOn(backend, c, values);
    for (const [name, ref] of Object.entries(reference)) {
      const got = actual[name]!;
      let maxAbsDiff = 0;
      let maxAbsRef = 0;
      for (let i = 0; i < ref.length; i++) {
        maxAbsRef = Math.max(maxAbsRef, Math.abs(ref[i]!));
        const d = Math.abs(got[i]! - ref[i]!);
        maxAbsDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(maxAbsDiff, d);
      }
      results.push({
        case: c.name,
        gradient: name,
        shape: c.inputs[name]!.shape,
        maxAbsDiff,
        maxAbsRef,
        relative: maxAbsRef > 0 ? maxAbsDiff / maxAbsRef : maxAbsDiff,
      });
    }
  }
  return results;
}
