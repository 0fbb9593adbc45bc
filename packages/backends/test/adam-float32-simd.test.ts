// The WebAssembly SIMD Adam step on float32 moments (src/kernels/adam-float32.wat) behind the wasm `adam-simd` fix:
// bit for bit the parameters and moments of optim-core's JavaScript kernel (`adamFloat32Step`, the fallback), on
// sizes with every remainder of four, random hyperparameters with and without weight decay (decoupled or L2), and
// gradients with 0, -0, NaN and ±Infinity (fast-check); a NaN is compared as NaN (wasm arithmetic makes the x86
// default NaN where V8's JavaScript makes its own). Adam and AdamW train to the same bits with and without it.
import { ADAM_FLOAT32_KERNEL, Adam, AdamW, adamConstants, adamFloat32Step } from '@gradsign/optim-core';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeFixes, installTrainingFixes, selectBackend, uninstallTrainingFixes } from '../src/index.js';
import { ADAM_FLOAT32, adamFloat32SimdFor } from '../src/kernels/adam-float32-simd.js';
import { quiet, rng, specialGradients, trainedBits } from './helpers.js';

beforeAll(async () => {
  const s = await selectBackend(['wasm'], { onLog: quiet });
  expect(s.fixes).toContain('adam-simd');
  expect(adamFloat32SimdFor(tf.backend())).not.toBeNull();
});

afterAll(() => installTrainingFixes('wasm'));

/** Float32 bits, every NaN as 0x7fc00000. */
function bits(a: Float32Array): Uint32Array {
  const view = new Uint32Array(a.buffer, a.byteOffset, a.length);
  return Uint32Array.from(view, (v, i) => (Number.isNaN(a[i]!) ? 0x7fc00000 : v));
}

describe('Adam step on float32 moments, SIMD against the JavaScript kernel', () => {
  it('is the kernel optim-core registers, and the one an Adam step runs', async () => {
    expect(ADAM_FLOAT32).toBe(ADAM_FLOAT32_KERNEL);
    expect(activeFixes('wasm')).toContain('adam-simd');
    const w = tf.variable(tf.ones([50]));
    const opt = new Adam({ learningRate: 0.1 });
    const info = await tf.profile(() => {
      opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar);
    });
    expect(info.kernelNames).toContain(ADAM_FLOAT32);
    opt.dispose();
    w.dispose();
  });

  it('gives the same bits for every size and hyperparameters', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 41, max: 5000 })),
        fc.record({
          learningRate: fc.double({ min: 1e-6, max: 1, noNaN: true }),
          beta1: fc.double({ min: 0, max: 0.999, noNaN: true }),
          beta2: fc.double({ min: 0, max: 0.9999, noNaN: true }),
          epsilon: fc.oneof(fc.constantFrom(1e-8, 0), fc.double({ min: 1e-12, max: 1e-2, noNaN: true })),
          weightDecay: fc.oneof(fc.constantFrom(0, 1e-320), fc.double({ min: 1e-4, max: 1, noNaN: true })),
          decoupledWeightDecay: fc.boolean(),
        }),
        fc.integer({ min: 1, max: 10000 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (n, hyper, step, seed) => {
          const r = rng(seed);
          const param = Float32Array.from({ length: n }, () => (r() - 0.5) * 4);
          const grad = specialGradients(n, seed + 1);
          const m = specialGradients(n, seed + 2);
          const v = Float32Array.from(specialGradients(n, seed + 3), Math.abs);
          const attrs = { constants: adamConstants(hyper, step) };
          const want = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
          adamFloat32Step([param, grad, m, v], want, attrs);
          const got = tf.tidy(() =>
            (
              tf.engine().runKernel(
                ADAM_FLOAT32,
                {
                  param: tf.tensor1d(param),
                  grad: tf.tensor1d(grad),
                  m: tf.tensor1d(m),
                  v: tf.tensor1d(v),
                },
                attrs as unknown as tf.NamedAttrMap,
              ) as tf.Tensor[]
            ).map((t) => t.dataSync().slice() as Float32Array),
          );
          for (let k = 0; k < 3; k++) expect(bits(got[k]!)).toEqual(bits(want[k]!));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('Adam and AdamW train to the same bits with the SIMD kernel and with the JavaScript loop', async () => {
    const train = async () => [
      await trainedBits(() => new Adam({ learningRate: 1e-2, weightDecay: 0.1 }), ADAM_FLOAT32, 14),
      await trainedBits(() => new AdamW({ learningRate: 1e-2 }), ADAM_FLOAT32, 15),
    ];
    const simd = await train();
    uninstallTrainingFixes('wasm', ['adam-simd']);
    expect(activeFixes('wasm')).not.toContain('adam-simd');
    const js = await train();
    installTrainingFixes('wasm');
    expect(activeFixes('wasm')).toContain('adam-simd');
    expect(simd).toEqual(js);
  });
});
