// Times one optimizer step on 1M and 10M parameters (four variables each) on cpu and wasm, for gradsign's
// optimizers and tfjs's own, side by side in one process; reports medians and ratios to tf.train.adam. Also
// measures optimizer-state bytes per parameter from tf.memory().
//
//   node bench/optimizer-step.mjs [--quick] [--json FILE]
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { createOptimizer } from '@gradsign/optim-core';

const quick = process.argv.includes('--quick');
const jsonOut = process.argv.includes('--json')
  ? process.argv[process.argv.indexOf('--json') + 1]
  : undefined;
const sizes = quick ? [1_000_000] : [1_000_000, 10_000_000];
const rounds = quick ? 3 : 9;
const warmup = quick ? 1 : 2;

const contenders = {
  'tf.train.adam': () => tf.train.adam(0.001),
  'tf.train.sgd': () => tf.train.sgd(0.01),
  gradsign: () => createOptimizer('gradsign', { learningRate: 0.001 }),
  'gradsign (op-composed)': () => createOptimizer('gradsign', { learningRate: 0.001, fused: false }),
  adam: () => createOptimizer('adam', { learningRate: 0.001 }),
  sgd: () => createOptimizer('sgd', { learningRate: 0.01 }),
  'sgd momentum': () => createOptimizer('sgd', { learningRate: 0.01, momentum: 0.9 }),
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function stepMs(opt, vars, grads) {
  const t0 = performance.now();
  opt.applyGradients(grads);
  await vars[0].data(); // wait for the backend to finish
  return performance.now() - t0;
}

/** State bytes per parameter, measured alone: tf.memory() before the first step and after it. */
async function stateBytesPerParam(make, size) {
  const v = tf.variable(tf.zeros([size]));
  const g = tf.ones([size]);
  const before = tf.memory().numBytes;
  const opt = make();
  opt.applyGradients({ [v.name]: g });
  await v.data();
  const bytes = tf.memory().numBytes - before;
  opt.dispose();
  tf.dispose([v, g]);
  return bytes / size;
}

const results = [];
for (const backend of ['cpu', 'wasm']) {
  await tf.setBackend(backend);
  await tf.ready();
  for (const size of sizes) {
    const shapes = [size / 2, size / 4, size / 8, size / 8].map((n) => [n]);
    const runs = Object.entries(contenders).map(([name, make]) => {
      const vars = shapes.map((s, i) =>
        tf.variable(tf.randomNormal(s, 0, 1, 'float32', i), true, `${backend}-${size}-${name}-${i}`),
      );
      const grads = Object.fromEntries(
        vars.map((v, i) => [v.name, tf.randomNormal(v.shape, 0, 1, 'float32', 100 + i)]),
      );
      return { name, opt: make(), vars, grads, times: [] };
    });
    for (let r = 0; r < warmup + rounds; r++) {
      for (const run of runs) {
        const ms = await stepMs(run.opt, run.vars, run.grads);
        if (r >= warmup) run.times.push(ms);
      }
    }
    const base = median(runs.find((r) => r.name === 'tf.train.adam').times);
    for (const run of runs) {
      const ms = median(run.times);
      const bytes = await stateBytesPerParam(contenders[run.name], 1_000_003);
      results.push({
        backend,
        params: size,
        optimizer: run.name,
        ms,
        ratioToTfAdam: ms / base,
        stateBytesPerParam: bytes,
      });
      run.opt.dispose();
      tf.dispose([...run.vars, ...Object.values(run.grads)]);
    }
  }
}

const fmt = (n, d = 2) => n.toFixed(d);
console.log(
  `Optimizer step, median of ${rounds} rounds (after ${warmup} warm-up), four variables per size.\n`,
);
console.log(
  '| backend | params | optimizer | ms/step | × tf.train.adam | state bytes/param (N = 1,000,003) |',
);
console.log('|---|---:|---|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.backend} | ${(r.params / 1e6).toFixed(0)}M | ${r.optimizer} | ${fmt(r.ms, 1)} | ${fmt(r.ratioToTfAdam)} | ${fmt(r.stateBytesPerParam, 3)} |`,
  );
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
