// One training-step measurement of blog-cnn (GradSign, batch 32 unless told, wasm) with a chosen build of the wasm SIMD kernels,
// for train-step.mjs to run under several Node binaries. Prints one JSON line: node version, kernels, ms/step.
//
//   node [--experimental-wasm-relaxed-simd] bench/kernel-step.mjs auto|portable <warmup> <steps> [threads] [batch]
import { selectBackend } from '@gradsign/backends';
import { loadMnist, subset } from '@gradsign/datasets';
import { median, Trainer } from '@gradsign/trainer';
import { ParallelTrainer } from '@gradsign/trainer/node';
import * as tf from '@tensorflow/tfjs-core';

const [kernels = 'auto', warmupArg = '60', stepsArg = '50', threadsArg = '1', batchArg = '32'] =
  process.argv.slice(2);
const [warmup, steps, threads, batchSize] = [warmupArg, stepsArg, threadsArg, batchArg].map(Number);
tf.env().set('PROD', true);
const mnist = await loadMnist();
const data = { train: mnist.train, test: subset(mnist.test, 100) };
const selection = await selectBackend(['wasm'], { kernels, onLog: () => {} });
const config = { model: 'blog-cnn', optimizer: 'gradsign', steps: warmup + steps, batchSize, seed: 0 };
const trainer =
  threads > 1
    ? await ParallelTrainer.create({
        config,
        data,
        workers: threads,
        backend: 'wasm',
        setup: { module: new URL('./kernel-setup.mjs', import.meta.url).href, options: { kernels } },
      })
    : Trainer.create({ config, data });
const times = [];
for (let i = 0; i < warmup + steps; i++) {
  const t0 = performance.now();
  await trainer.trainStep();
  if (i >= warmup) times.push(performance.now() - t0);
}
trainer.dispose();
console.log(
  JSON.stringify({
    node: process.versions.node,
    kernels: selection.kernels,
    threads,
    batchSize,
    steps,
    ms: median(times),
  }),
);
