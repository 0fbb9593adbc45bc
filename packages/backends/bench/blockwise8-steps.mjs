// The block-wise 8-bit SIMD steps on wasm (blockwise8.wat) alone: int8 Lion (linear code, 127 levels) and
// Adam8bit (the dynamic maps), called directly on heap tensors with a fresh output each call as in a training step,
// beside a copy of the bytes each step must move (its bandwidth floor). With --against DIR (another build's
// dist/ of this package, e.g. from `git worktree`), runs that build's kernels too, interleaved call by call, and
// reports new/old pair by pair. Medians in ms per call.
//
//   node bench/blockwise8-steps.mjs [--rounds 15] [--against /path/to/old/packages/backends/dist]
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { selectBackend } from '@gradsign/backends';
import { DYNAMIC_SIGNED, DYNAMIC_UNSIGNED } from '@gradsign/optim-adam8bit';
import { adamConstants, blockwise8Codec, linearCode } from '@gradsign/optim-core';
import { lionConstants } from '@gradsign/optim-lion';
import * as tf from '@tensorflow/tfjs-core';

const arg = (flag) =>
  process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined;
const rounds = Number(arg('--rounds') ?? 15);
const against = arg('--against');
const fail = (why) => {
  console.error(`blockwise8-steps: ${why}`);
  process.exit(2);
};
if (!Number.isInteger(rounds) || rounds < 1)
  fail(`--rounds must be a positive whole number, got ${arg('--rounds')}`);
if (against != null && !existsSync(`${against}/kernels/blockwise8-simd.js`))
  fail(
    `--against ${against}: no kernels/blockwise8-simd.js there (give another build's packages/backends/dist)`,
  );
await selectBackend(['wasm'], { onLog: () => {} });
const wasm = tf.backend();
const builds = { new: await import('../dist/kernels/blockwise8-simd.js') };
if (against) builds.old = await import(pathToFileURL(`${against}/kernels/blockwise8-simd.js`).href);
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
const blockSize = 256;
const lionAttrs = {
  blockSize,
  codec: blockwise8Codec(linearCode(127)),
  constants: lionConstants({ learningRate: 1e-4, beta1: 0.9, beta2: 0.99, weightDecay: 0 }),
};
const adamAttrs = {
  blockSize,
  mCodec: blockwise8Codec(DYNAMIC_SIGNED),
  vCodec: blockwise8Codec(DYNAMIC_UNSIGNED),
  constants: adamConstants(
    {
      learningRate: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0,
      decoupledWeightDecay: false,
    },
    10,
  ),
};

/** Bytes, random in every lane, as a state after some steps. */
const randomWords = (m, seed) => tf.randomUniformInt([m], -(2 ** 31), 2 ** 31 - 1, seed);

for (const n of [1_000_000, 10_000_000]) {
  const m = Math.ceil(n / 4);
  const blocks = Math.ceil(n / blockSize);
  const [param, grad] = [1, 2].map((seed) => tf.randomNormal([n], 0, 1, 'float32', seed));
  const [w1, w2] = [randomWords(m, 3), randomWords(m, 4)];
  const [a1, a2] = [5, 6].map((seed) => tf.randomUniform([blocks], 0, 1e-2, 'float32', seed));
  const steps = {
    lion: {
      bytes: 14,
      call: (k) =>
        k.wasmLionBlockwise8Kernel(undefined)({
          inputs: { param, grad, words: w1, absmax: a1 },
          backend: wasm,
          attrs: lionAttrs,
        }),
    },
    adam8bit: {
      bytes: 16,
      call: (k) =>
        k.wasmAdamBlockwise8Kernel(undefined)({
          inputs: { param, grad, mWords: w1, mAbsmax: a1, vWords: w2, vAbsmax: a2 },
          backend: wasm,
          attrs: adamAttrs,
        }),
    },
  };
  const time = (fn) => {
    const t0 = performance.now();
    const outs = fn();
    const t = performance.now() - t0;
    for (const o of outs) wasm.disposeData(o.dataId);
    return t;
  };
  for (const [name, step] of Object.entries(steps)) {
    const half = (step.bytes * n) / 2;
    const [from, to] = [tf.zeros([half / 4]), tf.zeros([half / 4])];
    const at = (t) => wasm.typedArrayFromHeap(t).byteOffset;
    const copy = () => {
      const bytes = new Uint8Array(wasm.typedArrayFromHeap(from).buffer);
      const t0 = performance.now();
      bytes.copyWithin(at(to), at(from), at(from) + half);
      return performance.now() - t0;
    };
    const t = { copy: [] };
    for (const b of Object.keys(builds)) t[b] = [];
    for (let r = 0; r < rounds + 2; r++) {
      const got = Object.entries(builds).map(([b, k]) => [b, time(() => step.call(k))]);
      const c = copy();
      if (r < 2) continue;
      for (const [b, ms] of got) t[b].push(ms);
      t.copy.push(c);
    }
    const floor = median(t.copy);
    const parts = Object.keys(builds).map(
      (b) => `${b} ${median(t[b]).toFixed(2)} ms (${(median(t[b]) / floor).toFixed(1)}× floor)`,
    );
    if (builds.old)
      parts.push(`new/old ${median(t.new.map((x, k) => x / t.old[k])).toFixed(2)} pair by pair`);
    console.log(
      `${name}, ${n / 1e6}M: ${parts.join(', ')}; floor ${floor.toFixed(2)} ms (${step.bytes} B/param)`,
    );
    tf.dispose([from, to]);
  }
  tf.dispose([param, grad, w1, w2, a1, a2]);
}
