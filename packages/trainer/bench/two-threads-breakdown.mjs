// Inside a 2-thread step (blog-cnn, GradSign, wasm, batch 32 split 16 + 16): each replica's step time, the time it
// waits at the all-reduce barriers (mean per step, and per barrier position), and the time between its steps (the
// hand-off: its reply to the driving thread and the next request), beside the driving thread's ms/step.
//
//   node bench/two-threads-breakdown.mjs [warmup] [steps]
import { selectBackend } from '@gradsign/backends';
import { loadMnist, subset } from '@gradsign/datasets';
import { median } from '@gradsign/trainer';
import { ParallelTrainer } from '@gradsign/trainer/node';
import * as tf from '@tensorflow/tfjs-core';

const [warmup, steps] = [Number(process.argv[2] ?? 60), Number(process.argv[3] ?? 50)];
tf.env().set('PROD', true);
const mnist = await loadMnist();
const selection = await selectBackend(['wasm'], { onLog: () => {} });
const trainer = await ParallelTrainer.create({
  config: { model: 'blog-cnn', optimizer: 'gradsign', steps: warmup + steps, batchSize: 32, seed: 0 },
  data: { train: mnist.train, test: subset(mnist.test, 100) },
  workers: 2,
  backend: 'wasm',
  setup: {
    module: new URL('./replica-timing-setup.mjs', import.meta.url).href,
    options: { kernels: selection.kernels, warmup, steps },
  },
});
const times = [];
for (let i = 0; i < warmup + steps; i++) {
  const t0 = performance.now();
  await trainer.trainStep();
  if (i >= warmup) times.push(performance.now() - t0);
}
trainer.dispose();
console.log(JSON.stringify({ driver: true, kernels: selection.kernels, msPerStep: median(times) }));
