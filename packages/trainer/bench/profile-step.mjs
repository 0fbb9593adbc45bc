// Where a wasm training step of blog-cnn (batch 32) spends its time: per kernel, as tfjs's profiler reports it
// (wasm kernels are synchronous, so kernelMs is wall time), summed over several steps after warm-up.
//
//   node bench/profile-step.mjs [--steps 5] [--backend wasm] [--optimizer gradsign]
import { selectBackend } from '@gradsign/backends';
import { loadMnist, subset } from '@gradsign/datasets';
import { Trainer } from '@gradsign/trainer';
import * as tf from '@tensorflow/tfjs-core';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const steps = Number(arg('--steps', 5));
const backend = arg('--backend', 'wasm');
const extra = JSON.parse(arg('--model-options', '{}'));
tf.env().set('PROD', true);
await selectBackend([backend], { onLog: () => {} });
const mnist = await loadMnist();
const data = { train: mnist.train, test: subset(mnist.test, 100) };
const trainer = Trainer.create({
  config: {
    model: 'blog-cnn',
    optimizer: arg('--optimizer', 'gradsign'),
    steps: steps + 3,
    batchSize: 32,
    seed: 0,
    modelOptions: extra,
  },
  data,
});
for (let i = 0; i < 3; i++) await trainer.trainStep();
const byKernel = new Map();
let wall = 0;
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  const info = await tf.profile(() => trainer.trainStep());
  wall += performance.now() - t0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    const e = byKernel.get(key) ?? { name: k.name, shapes: k.inputShapes, ms: 0, calls: 0 };
    e.ms += ms;
    e.calls += 1;
    byKernel.set(key, e);
  }
}
const rows = [...byKernel.values()].sort((a, b) => b.ms - a.ms);
const total = rows.reduce((s, r) => s + r.ms, 0);
const byName = new Map();
for (const r of rows) byName.set(r.name, (byName.get(r.name) ?? 0) + r.ms);
console.log(
  `wall ${(wall / steps).toFixed(1)} ms/step (profiled), kernels ${(total / steps).toFixed(1)} ms/step`,
);
console.log('\nby kernel name (ms/step):');
for (const [n, ms] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`  ${n.padEnd(24)} ${(ms / steps).toFixed(2)}`);
console.log('\ntop kernel+shapes (ms/step, calls/step):');
for (const r of rows.slice(0, 40))
  console.log(
    `  ${(r.ms / steps).toFixed(2).padStart(7)} ${String(r.calls / steps).padStart(4)}  ${r.name} ${JSON.stringify(r.shapes)}`,
  );
trainer.dispose();
