// Runs in a page or a worker, bundled by esbuild for the browser (tfjs-core resolves to its ESM build there).
import * as tf from '@tensorflow/tfjs-core';
import { maxPoolGradUsesSimd, selectBackend } from '../../dist/index.js';

function relErr(a, b) {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(a[i]), Math.abs(b[i]));
  }
  return s === 0 ? d : d / s;
}

async function convPoolGrads(backend) {
  await tf.setBackend(backend);
  const [dx, dw] = tf.tidy(() => {
    const x = tf.tensor4d(
      Array.from({ length: 2 * 8 * 8 * 3 }, (_, i) => Math.sin(i * 12.9898) * 2 - 1),
      [2, 8, 8, 3],
    );
    const w = tf.tensor4d(
      Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 78.233) * 0.5),
      [3, 3, 3, 4],
    );
    const f = (a, b) => tf.sum(tf.square(tf.maxPool(tf.conv2d(a, b, 1, 'same'), 2, 2, 'valid')));
    return tf.grads(f)([x, w]);
  });
  const out = [await dx.data(), await dw.data()];
  tf.dispose([dx, dw]);
  return out;
}

/**
 * On wasm: whether its memory is shared (the threaded build, in a cross-origin-isolated context), and the
 * kernels that compute the gradients of a 32 -> 32 conv, with their error against cpu.
 */
async function wasmFilterGrad() {
  const grads = async (backend) => {
    await tf.setBackend(backend);
    const f = () =>
      tf.tidy(() => {
        const x = tf.randomNormal([2, 10, 9, 32], 0, 1, 'float32', 5);
        const w = tf.randomNormal([3, 3, 32, 32], 0, 0.06, 'float32', 6);
        const r = tf.randomNormal([2, 10, 9, 32], 0, 1, 'float32', 7);
        return tf.grads((a, b) => tf.sum(tf.mul(r, tf.conv2d(a, b, 1, 'same'))))([x, w]);
      });
    let values;
    const info = await tf.profile(async () => {
      const [dx, dw] = f();
      values = [await dx.data(), await dw.data()];
      tf.dispose([dx, dw]);
    });
    return { values, kernels: info.kernelNames };
  };
  const cpu = await grads('cpu');
  const wasm = await grads('wasm');
  const m = tf.backend().wasm;
  const memory = m?.asm?.memory ?? m?.wasmMemory;
  return {
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    sharedMemory: typeof SharedArrayBuffer === 'function' && memory?.buffer instanceof SharedArrayBuffer,
    kernels: wasm.kernels,
    maxPoolGradSimd: maxPoolGradUsesSimd(tf.backend()),
    dx: relErr(cpu.values[0], wasm.values[0]),
    dw: relErr(cpu.values[1], wasm.values[1]),
  };
}

export async function run(wasmPaths) {
  const logs = [];
  const onLog = (level, message) => logs.push(`${level}: ${message}`);
  const summary = (s) => ({
    backend: s.backend,
    fixes: s.fixes,
    capabilities: s.capabilities,
    attempts: s.attempts,
  });
  const auto = summary(await selectBackend('auto', { wasmPaths, onLog }));
  const w = tf.variable(tf.randomNormal([3, 3, 1, 4], 0, 0.3, 'float32', 1));
  const x = tf.randomNormal([2, 12, 12, 1], 0, 1, 'float32', 2);
  const loss = () => tf.mean(tf.square(tf.maxPool(tf.conv2d(x, w, 1, 'same'), 2, 2, 'valid')));
  const opt = tf.train.sgd(0.05);
  const losses = [];
  for (let i = 0; i < 3; i++) losses.push(opt.minimize(loss, true).dataSync()[0]);
  const wasm = summary(await selectBackend(['wasm'], { wasmPaths, onLog }));
  await selectBackend(['cpu'], { onLog });
  const [cdx, cdw] = await convPoolGrads('cpu');
  const [wdx, wdw] = await convPoolGrads('wasm');
  const filterGrad = await wasmFilterGrad();
  return { auto, losses, wasm, parity: { dx: relErr(cdx, wdx), dw: relErr(cdw, wdw) }, filterGrad, logs };
}
