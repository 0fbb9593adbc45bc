// The wasm fast paths change no numbers: gradients of a small CNN (convs, 2×2/2 and overlapping 3×3/2 max pools,
// as in the reference CNN) with the SIMD MaxPoolGrad and the copy-free Identity are the same bits as with the
// plain-JS MaxPoolGrad and the stock, copying Identity.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTrainingFixes, selectBackend, setMaxPoolGradSimd } from '../src/index.js';
import { wasmIdentityAliasActive } from '../src/kernels/identity-alias.js';
import { quiet, randn } from './helpers.js';

beforeAll(async () => {
  await selectBackend(['wasm'], { onLog: quiet });
});

afterAll(() => {
  setMaxPoolGradSimd(true);
  installTrainingFixes('wasm');
});

function grads(): Uint32Array[] {
  const out: Uint32Array[] = [];
  tf.tidy(() => {
    const x = tf.tensor4d(randn([4, 12, 12, 2], 1), [4, 12, 12, 2]);
    const w1 = tf.tensor4d(randn([3, 3, 2, 8], 2, 0.5), [3, 3, 2, 8]);
    const w2 = tf.tensor4d(randn([3, 3, 8, 8], 3, 0.3), [3, 3, 8, 8]);
    const head = tf.tensor1d(randn([8], 4));
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      let h = tf.leakyRelu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), 0.2);
      h = tf.maxPool(h, 2, 2, 'valid');
      h = tf.leakyRelu(tf.conv2d(h, c as tf.Tensor4D, 1, 'same'), 0.2);
      h = tf.maxPool(h, 3, 2, 'valid');
      return tf.sum(tf.mul(tf.max(h, [1, 2]), head));
    };
    for (const g of tf.grads(loss)([x, w1, w2])) {
      out.push(new Uint32Array((g.dataSync() as Float32Array).slice().buffer));
    }
  });
  return out;
}

describe('wasm fast paths', () => {
  it('gradients of a small CNN are the same bits with and without them', () => {
    expect(tf.getBackend()).toBe('wasm');
    setMaxPoolGradSimd(true);
    installTrainingFixes('wasm', { wasmIdentityAlias: true });
    expect(wasmIdentityAliasActive()).toBe(true);
    const fast = grads();
    setMaxPoolGradSimd(false);
    installTrainingFixes('wasm', { wasmIdentityAlias: false });
    expect(wasmIdentityAliasActive()).toBe(false);
    const plain = grads();
    expect(fast.length).toBe(3);
    for (let i = 0; i < fast.length; i++) expect(Array.from(fast[i]!)).toEqual(Array.from(plain[i]!));
  });

  it('the copy-free Identity shares data and keeps reference counts right', () => {
    installTrainingFixes('wasm', { wasmIdentityAlias: true });
    const before = tf.memory().numTensors;
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const s = tf.clone(tf.tensor1d(['p', 'q'], 'string'));
    expect(s.dataSync()).toEqual(['p', 'q']);
  });
});
