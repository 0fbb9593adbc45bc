// State bytes (tf.memory()) and step time of Lion with float32, bf16 and block-wise int8 momentum, and of Adam,
// side by side in one process, on cpu and wasm. State bytes for one 1,000,003-element tensor and for the reference
// CNN's shapes (REFERENCE.md).
//
//   node bench/state-and-step.mjs [--quick]
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { Adam } from '@gradsign/optim-core';
import { Lion } from '@gradsign/optim-lion';

const quick = process.argv.includes('--quick');
const rounds = quick ? 3 : 9;
const warmup = 1;
const size = 1_000_000;
const contenders = {
  adam: () => new Adam(),
  'lion (float32)': () => new Lion({ stateFormat: 'float32' }),
  'lion (bf16)': () => new Lion({ stateFormat: 'bf16' }),
  'lion (int8-blockwise)': () => new Lion(),
};

// blog-cnn: conv1, conv2..8, 8 BatchNorms (γ, β), lin1, lin2 = 66,954 parameters
const blogCnn = [
  [3, 3, 1, 32],
  [32],
  ...Array.from({ length: 7 }, () => [[3, 3, 32, 32], [32]]).flat(),
  ...Array.from({ length: 16 }, () => [32]),
  [32, 32],
  [32],
  [32, 10],
  [10],
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function stateBytes(make, shapes) {
  const vars = shapes.map((s) => tf.variable(tf.zeros(s)));
  const before = tf.memory().numBytes;
  const opt = make();
  opt.allocateState(vars);
  const bytes = tf.memory().numBytes - before;
  if (bytes !== opt.stateBytes()) throw new Error(`stateBytes() ${opt.stateBytes()} != tf.memory() ${bytes}`);
  opt.dispose();
  tf.dispose(vars);
  return { bytes, params: shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0) };
}

const rows = [];
for (const backend of ['cpu', 'wasm']) {
  await tf.setBackend(backend);
  await tf.ready();
  const shapes = [size / 2, size / 4, size / 8, size / 8].map((n) => [n]);
  const runs = Object.entries(contenders).map(([name, make]) => {
    const vars = shapes.map((s, i) =>
      tf.variable(tf.randomNormal(s, 0, 1, 'float32', i), true, `${backend}-${name}-${i}`),
    );
    const grads = Object.fromEntries(
      vars.map((v, i) => [v.name, tf.randomNormal(v.shape, 0, 0.01, 'float32', 10 + i)]),
    );
    return { name, make, opt: make(), vars, grads, times: [] };
  });
  for (let r = 0; r < warmup + rounds; r++) {
    for (const run of runs) {
      const t0 = performance.now();
      run.opt.applyGradients(run.grads);
      await run.vars[0].data();
      if (r >= warmup) run.times.push(performance.now() - t0);
    }
  }
  const base = median(runs[0].times);
  for (const run of runs) {
    const one = stateBytes(run.make, [[1_000_003]]);
    const cnn = stateBytes(run.make, blogCnn);
    rows.push({ backend, name: run.name, ms: median(run.times), ratio: median(run.times) / base, one, cnn });
    run.opt.dispose();
    tf.dispose([...run.vars, ...Object.values(run.grads)]);
  }
}

console.log(
  `Optimizer step on 1M parameters (four variables), median of ${rounds} rounds after ${warmup} warm-up.`,
);
console.log('State bytes from tf.memory() (equal to stateBytes()).\n');
console.log(
  '| backend | optimizer | ms/step | × adam | state bytes, N = 1,000,003 | per param | state bytes, blog-cnn (66,954) | per param |',
);
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.backend} | ${r.name} | ${r.ms.toFixed(1)} | ${r.ratio.toFixed(2)} | ${r.one.bytes} | ${(r.one.bytes / r.one.params).toFixed(3)} | ${r.cnn.bytes} | ${(r.cnn.bytes / r.cnn.params).toFixed(3)} |`,
  );
}
