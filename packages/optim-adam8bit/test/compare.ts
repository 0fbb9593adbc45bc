import { Adam, type AdamStateFormats } from '@gradsign/optim-core';
import { bitsEqual } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import { randn } from './reference.js';

export interface StepStats {
  /** Parameter elements with |p8 - p32| > patol + prtol·|p32|. */
  paramsOff: number;
  /** State elements with |s8 - s32| > atol + rtol·|s32|, per slot. */
  stateOff: Record<string, number>;
  meanError: number;
  meanRelError: number;
  /** mean |p32 - p0|: how far the float32 run has moved, the scale for `meanError` in a free run. */
  meanDisplacement: number;
  /** mean |s8 - s32| / mean |s32| per slot. */
  stateRelError: Record<string, number>;
}

const isClose = (a: number, b: number, atol: number, rtol: number) =>
  Math.abs(a - b) <= atol + rtol * Math.abs(b);

/**
 * bitsandbytes' test_optimizer8bit, in tfjs: a parameter of randn·0.1, gradients of randn·0.01, one step of float32
 * Adam and one of Adam with the given state formats from the same parameter and the same (dequantized) state, then
 * (with `resync`) the float32 run is re-synced to the 8-bit one so that every step's error is measured on its own;
 * without it both run freely and the 8-bit run's drift from float32 Adam accumulates.
 */
export async function compareWithFloatAdam(
  formats: AdamStateFormats,
  options: {
    shape: [number, number];
    steps: number;
    resync: boolean;
    seed?: number;
    learningRate?: number;
    /** Every this many steps, move the 8-bit state through getWeights → a new optimizer's setWeights. */
    roundTripEvery?: number;
  },
  tolerances = { atol: 3e-3, rtol: 1e-3, patol: 1e-5, prtol: 1e-3 },
): Promise<StepStats[]> {
  const [rows, cols] = options.shape;
  const n = rows * cols;
  const seed = options.seed ?? 1;
  const config = { learningRate: options.learningRate ?? 0.001 };
  const p32 = tf.variable(tf.tensor2d(randn(seed, n, 0.1), [rows, cols]), true, `p32-${seed}-${n}`);
  const p8 = tf.variable(tf.clone(p32), true, `p8-${seed}-${n}`);
  const p0 = (await p32.data()) as Float32Array;
  const reference = new Adam(config);
  let quantized = new Adam(config, formats);
  const stats: StepStats[] = [];
  try {
    for (let step = 0; step < options.steps; step++) {
      const g = tf.tensor2d(randn(seed * 1000 + step + 1, n, 0.01), [rows, cols]);
      quantized.applyGradients({ [p8.name]: g });
      reference.applyGradients({ [p32.name]: g });
      g.dispose();
      const a = (await p32.data()) as Float32Array;
      const b = (await p8.data()) as Float32Array;
      let paramsOff = 0;
      let err = 0;
      let rel = 0;
      let moved = 0;
      for (let i = 0; i < n; i++) {
        moved += Math.abs(a[i]! - p0[i]!);
        if (!isClose(b[i]!, a[i]!, tolerances.patol, tolerances.prtol)) paramsOff++;
        const e = Math.abs(a[i]! - b[i]!);
        err += e;
        rel += e / (Math.abs(a[i]!) + 1e-9);
      }
      const stateOff: Record<string, number> = {};
      const stateRelError: Record<string, number> = {};
      for (const slot of ['m', 'v']) {
        const s8 = quantized.readState(p8, slot);
        const s32 = reference.readState(p32, slot);
        const x = await s8.data();
        const y = await s32.data();
        let off = 0;
        let diff = 0;
        let size = 0;
        for (let i = 0; i < n; i++) {
          if (!isClose(x[i]!, y[i]!, tolerances.atol, tolerances.rtol)) off++;
          diff += Math.abs(x[i]! - y[i]!);
          size += Math.abs(y[i]!);
        }
        stateOff[slot] = off;
        stateRelError[slot] = diff / size;
        // re-sync: the float32 run continues from the 8-bit run's (dequantized) state and parameter
        if (options.resync) reference.writeState(p32, slot, s8);
        tf.dispose([s8, s32]);
      }
      if (options.resync) p32.assign(p8);
      if (options.roundTripEvery && (step + 1) % options.roundTripEvery === 0) {
        quantized = await roundTrip(quantized, () => new Adam(config, formats));
      }
      stats.push({
        paramsOff,
        stateOff,
        stateRelError,
        meanError: err / n,
        meanRelError: rel / n,
        meanDisplacement: moved / n,
      });
    }
  } finally {
    reference.dispose();
    quantized.dispose();
    tf.dispose([p32, p8]);
  }
  return stats;
}

/**
 * Moves an optimizer's state into a fresh one through getWeights → setWeights (as a checkpoint would) and checks
 * that every raw part (codes, absmax, float32 state, steps) comes back bit for bit. Disposes the old optimizer.
 */
export async function roundTrip(from: Adam, create: () => Adam): Promise<Adam> {
  const weights = await from.getWeights();
  const to = create();
  await to.setWeights(weights);
  const again = await to.getWeights();
  const names = weights.map((w) => w.name).join(',');
  if (again.map((w) => w.name).join(',') !== names) throw new Error(`round trip changed the names: ${names}`);
  weights.forEach((w, i) => {
    const b = again[i]!.tensor;
    if (
      b.dtype !== w.tensor.dtype ||
      !bitsEqual(b.dataSync() as Float32Array, w.tensor.dataSync() as Float32Array)
    )
      throw new Error(`round trip changed '${w.name}'`);
  });
  tf.dispose([...weights.map((w) => w.tensor), ...again.map((w) => w.tensor)]);
  from.dispose();
  return to;
}
