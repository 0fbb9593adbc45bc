// Times one optimizer step on 1M and 10M parameters (four variables each) on cpu and wasm, for gradsign's
// optimizers (with optim-adam8bit's and optim-lion's when they are built), fused and op-composed, and tfjs's own,
// side by side in one process. Reports medians, ratios to our Adam and to tf.train.adam, and each step as a multiple
// of its bandwidth floor: the time, measured in the same run, to copy the bytes the step must read and write.
// Also measures optimizer-state bytes per parameter from tf.memory().
//
//   node bench/optimizer-step.mjs [--quick] [--json FILE] [--backend cpu|wasm] [--only NAME,NAME,...]
//
// --backend and --only narrow the run to one backend and to the named contenders (tf.train.adam and adam are
// always kept, as the ratios' denominators).
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { createOptimizer } from '@gradsign/optim-core';
import { copyMs } from './floor.mjs';

const quick = process.argv.includes('--quick');
const jsonOut = process.argv.includes('--json')
  ? process.argv[process.argv.indexOf('--json') + 1]
  : undefined;
const argOf = (flag) =>
  process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined;
const backendsToRun = argOf('--backend') ? [argOf('--backend')] : ['cpu', 'wasm'];
const only = argOf('--only')?.split(',');
const sizes = quick ? [1_000_000] : [1_000_000, 10_000_000];
const rounds = quick ? 3 : 9;
const warmup = quick ? 1 : 2;

// Sibling packages register their optimizers on import; the bench runs without them when they are not built.
const missing = [];
for (const pkg of ['optim-adam8bit', 'optim-lion']) {
  try {
    await import(`../../${pkg}/dist/index.js`);
  } catch {
    missing.push(pkg);
  }
}
// @gradsign/backends' `gradsign-simd`, `lion-simd`, `blockwise8-simd` and `adam-simd` fixes run the GradSign, bf16
// Lion, block-wise 8-bit (Adam8bit, int8 Lion) and float32 Adam kernels as WebAssembly on wasm; without them, those
// kernels are JavaScript loops on the wasm heap (optim-core's, optim-lion's).
let backends = null;
try {
  backends = await import('../../backends/dist/index.js');
} catch {
  missing.push('backends (the SIMD optimizer kernels)');
}
const SIMD_FIXES = ['gradsign-simd', 'lion-simd', 'blockwise8-simd', 'adam-simd'];
/** On wasm, installs the SIMD optimizer kernels, except the fix a contender runs `without`. */
function useSimdKernels(backend, without) {
  if (backend !== 'wasm' || backends == null) return;
  backends.installTrainingFixes('wasm', { fixes: SIMD_FIXES });
  if (without) backends.uninstallTrainingFixes('wasm', [without]);
}

/**
 * Bytes each step must read and write per parameter (float32 p, g and state; bytes for 8-bit codes; bf16: 2 bytes;
 * one float32 absmax per 256-element block, read and written):
 * - Adam: p, g, m, v read, p, m, v written: 16 + 12 = 28
 * - SGD: p, g read, p written: 12; with momentum also the buffer: 20
 * - GradSign: p, g, counter (1 B) read, p, counter written: 9 + 5 = 14
 * - Adam8bit: p, g, two codes read, p, two codes written, 2 absmax each way: 10 + 6 + 16/256
 * - Lion int8: p, g, code read, p, code written, 1 absmax each way: 9 + 5 + 8/256; Lion bf16: 10 + 6 = 16
 */
const ADAM = 28;
const contenders = {
  'tf.train.adam': [ADAM, () => tf.train.adam(0.001)],
  'tf.train.sgd': [12, () => tf.train.sgd(0.01)],
  adam: [ADAM, () => createOptimizer('adam', { learningRate: 0.001 })],
  'adam (JS loop)': [ADAM, () => createOptimizer('adam', { learningRate: 0.001 }), { without: 'adam-simd' }],
  'adam (op-composed)': [ADAM, () => createOptimizer('adam', { learningRate: 0.001, fused: false })],
  sgd: [12, () => createOptimizer('sgd', { learningRate: 0.01 })],
  'sgd momentum': [20, () => createOptimizer('sgd', { learningRate: 0.01, momentum: 0.9 })],
  gradsign: [14, () => createOptimizer('gradsign', { learningRate: 0.001 })],
  'gradsign (JS loop)': [
    14,
    () => createOptimizer('gradsign', { learningRate: 0.001 }),
    { without: 'gradsign-simd' },
  ],
  'gradsign (op-composed)': [14, () => createOptimizer('gradsign', { learningRate: 0.001, fused: false })],
};
if (!missing.includes('optim-adam8bit')) {
  contenders.adam8bit = [16 + 16 / 256, () => createOptimizer('adam8bit', { learningRate: 0.001 })];
  contenders['adam8bit (JS loop)'] = [
    16 + 16 / 256,
    () => createOptimizer('adam8bit', { learningRate: 0.001 }),
    { without: 'blockwise8-simd' },
  ];
  contenders['adam8bit (op-composed)'] = [
    16 + 16 / 256,
    () => createOptimizer('adam8bit', { learningRate: 0.001, fused: false }),
  ];
}
if (!missing.includes('optim-lion')) {
  for (const [label, stateFormat, bytes] of [
    ['int8', 'int8-blockwise', 14 + 8 / 256],
    ['bf16', 'bf16', 16],
  ]) {
    contenders[`lion ${label}`] = [bytes, () => createOptimizer('lion', { learningRate: 1e-4, stateFormat })];
    contenders[`lion ${label} (JS loop)`] = [
      bytes,
      () => createOptimizer('lion', { learningRate: 1e-4, stateFormat }),
      { without: stateFormat === 'bf16' ? 'lion-simd' : 'blockwise8-simd' },
    ];
    contenders[`lion ${label} (op-composed)`] = [
      bytes,
      () => createOptimizer('lion', { learningRate: 1e-4, stateFormat, fused: false }),
    ];
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function stepMs(opt, grads) {
  const t0 = performance.now();
  opt.applyGradients(grads);
  // cpu and wasm compute synchronously: the step is done when applyGradients returns. (Reading a variable back to
  // wait for it, as an asynchronous backend would need, copies half the parameters out of the heap: earlier runs
  // timed that copy as part of every step.)
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
for (const name of Object.keys(contenders))
  if (only && !only.includes(name) && name !== 'adam' && name !== 'tf.train.adam') delete contenders[name];
for (const backend of backendsToRun) {
  await tf.setBackend(backend);
  await tf.ready();
  for (const size of sizes) {
    const shapes = [size / 2, size / 4, size / 8, size / 8].map((n) => [n]);
    const runs = Object.entries(contenders)
      .filter(([, [, , { without } = {}]]) => !without || backend === 'wasm')
      .map(([name, [bytes, make, { without } = {}]]) => {
        const vars = shapes.map((s, i) =>
          tf.variable(tf.randomNormal(s, 0, 1, 'float32', i), true, `${backend}-${size}-${name}-${i}`),
        );
        const grads = Object.fromEntries(
          vars.map((v, i) => [v.name, tf.randomNormal(v.shape, 0, 1, 'float32', 100 + i)]),
        );
        return { name, bytes, make, without, opt: make(), vars, grads, times: [] };
      });
    for (let r = 0; r < warmup + rounds; r++) {
      for (const run of runs) {
        useSimdKernels(backend, run.without);
        const ms = stepMs(run.opt, run.grads);
        if (r >= warmup) run.times.push(ms);
      }
    }
    const floors = new Map();
    for (const { bytes } of runs) {
      if (!floors.has(bytes)) floors.set(bytes, copyMs(backend, (bytes * size) / 2, rounds + warmup));
    }
    const msOf = (name) => median(runs.find((r) => r.name === name).times);
    const [tfAdam, adam] = [msOf('tf.train.adam'), msOf('adam')];
    for (const run of runs) {
      const ms = median(run.times);
      const floorMs = floors.get(run.bytes);
      results.push({
        backend,
        params: size,
        optimizer: run.name,
        ms,
        bytesPerParam: run.bytes,
        floorMs,
        ratioToFloor: ms / floorMs,
        ratioToAdam: ms / adam,
        ratioToTfAdam: ms / tfAdam,
        stateBytesPerParam: await stateBytesPerParam(run.make, 1_000_003),
      });
      run.opt.dispose();
      tf.dispose([...run.vars, ...Object.values(run.grads)]);
    }
  }
}

const fmt = (n, d = 2) => n.toFixed(d);
console.log(
  `Optimizer step, median of ${rounds} rounds (after ${warmup} warm-up), four variables per size. The floor is the`,
);
console.log(
  'median time, in the same run, to copy half the bytes the step reads and writes (wasm: memory.copy; cpu: a',
);
console.log('typed-array copy), so the copy moves as many bytes as the step must.');
console.log(
  "On wasm, adam, gradsign, adam8bit and lion run @gradsign/backends' WebAssembly kernels (the adam-simd, gradsign-simd,",
);
console.log(
  'lion-simd and blockwise8-simd fixes); their (JS loop) rows run the JavaScript loops on the wasm heap, which are also',
);
console.log('what cpu runs. (op-composed) rows run the rule as tfjs ops (`fused: false`).\n');
if (missing.length) console.log(`Not built, so not measured: ${missing.join(', ')}.\n`);
console.log(
  '| backend | params | optimizer | ms/step | B/param moved | floor ms | × floor | × adam | × tf.train.adam | state bytes/param (N = 1,000,003) |',
);
console.log('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.backend} | ${(r.params / 1e6).toFixed(0)}M | ${r.optimizer} | ${fmt(r.ms, 1)} | ${fmt(r.bytesPerParam)} | ${fmt(r.floorMs)} | ${fmt(r.ratioToFloor, 1)} | ${fmt(r.ratioToAdam)} | ${fmt(r.ratioToTfAdam)} | ${fmt(r.stateBytesPerParam, 3)} |`,
  );
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
