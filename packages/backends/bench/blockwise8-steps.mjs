// The block-wise 8-bit SIMD steps on wasm (blockwise8.wat) alone: int8 Lion (linear code, 127 levels) and
// Adam8bit (the dynamic maps), called directly on heap tensors with a fresh output each call as in a training step,
// beside optim-core's fused float32 Adam step (adam-float32.wat) as the reference, a copy of the bytes each step
// must move (its bandwidth floor) and the rounded divisions and square roots each step must do per element, timed
// alone in a loop over data that stays in cache (its division floor: Adam 3, int8 Lion 1, Adam8bit 5). With
// --against DIR (another build's dist/ of this package, e.g. from `git worktree`), runs that build's kernels too,
// interleaved call by call, each going first in every other round, and reports new/old pair by pair. Medians in
// ms per call; × adam is the median of the ratios to the fused Adam step of the same round.
//
//   node bench/blockwise8-steps.mjs [--rounds 15] [--against /path/to/old/packages/backends/dist]
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { selectBackend } from '@gradsign/backends';
import { DYNAMIC_SIGNED, DYNAMIC_UNSIGNED } from '@gradsign/optim-adam8bit';
import { adamConstants, blockwise8Codec, linearCode } from '@gradsign/optim-core';
import { lionConstants } from '@gradsign/optim-lion';
import * as tf from '@tensorflow/tfjs-core';
import wabtInit from 'wabt';

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
const KERNEL_FILES = ['kernels/blockwise8-simd.js', 'kernels/adam-float32-simd.js'];
const missing = against == null ? undefined : KERNEL_FILES.find((f) => !existsSync(`${against}/${f}`));
if (missing != null)
  fail(`--against ${against}: no ${missing} there (give another build's packages/backends/dist)`);
await selectBackend(['wasm'], { onLog: () => {} });
const wasm = tf.backend();
/** A build's kernel modules, from its dist/ directory. */
const load = async (dist) => {
  const [blockwise8, adam] = await Promise.all(KERNEL_FILES.map((f) => import(new URL(f, dist).href)));
  return { ...blockwise8, ...adam };
};
const builds = { new: await load(new URL('../dist/', import.meta.url)) };
if (against) builds.old = await load(pathToFileURL(`${against}/`));
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

// The division floor: each step's rounded divisions and square roots per element, as in its kernel, on 4 lanes at
// a time, reading and writing 16 KiB buffers (in cache) so that nothing but those operations limits the loop.
const DIVISIONS_WAT = `(module
  (memory (export "memory") 1)
  (func $each (param $n i32) (param $ops i32)
    (local $i i32) (local $at i32) (local $x v128) (local $y v128) (local $s v128) (local $e v128)
    (local.set $s (f32x4.splat (f32.const 1.0001)))
    (local.set $e (f32x4.splat (f32.const 1e-8)))
    (loop $l
      (local.set $at (i32.and (i32.shl (local.get $i) (i32.const 2)) (i32.const 16383)))
      (local.set $x (v128.load (local.get $at)))
      (if (i32.eq (local.get $ops) (i32.const 1))
        (then (local.set $y (f32x4.div (local.get $x) (local.get $s))))
        (else
          ;; Adam's rule: m / (√v / correction2 + ε)
          (local.set $y (f32x4.div (local.get $x)
            (f32x4.add (f32x4.div (f32x4.sqrt (local.get $x)) (local.get $s)) (local.get $e))))
          ;; Adam8bit: then m' / absmax and v' / absmax
          (if (i32.eq (local.get $ops) (i32.const 5))
            (then (local.set $y (f32x4.add (f32x4.div (local.get $y) (local.get $s))
              (f32x4.div (local.get $x) (local.get $s))))))))
      (v128.store (i32.add (local.get $at) (i32.const 16384)) (local.get $y))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func (export "d1") (param $n i32) (call $each (local.get $n) (i32.const 1)))
  (func (export "d3") (param $n i32) (call $each (local.get $n) (i32.const 3)))
  (func (export "d5") (param $n i32) (call $each (local.get $n) (i32.const 5))))`;
const wabt = await wabtInit();
const divisions = new WebAssembly.Instance(
  new WebAssembly.Module(wabt.parseWat('divisions.wat', DIVISIONS_WAT).toBinary({}).buffer),
).exports;
new Float32Array(divisions.memory.buffer, 0, 4096).fill(1.5);

for (const n of [1_000_000, 10_000_000]) {
  const m = Math.ceil(n / 4);
  const blocks = Math.ceil(n / blockSize);
  const [param, grad] = [1, 2].map((seed) => tf.randomNormal([n], 0, 1, 'float32', seed));
  const [mf, vf] = [7, 8].map((seed) => tf.randomUniform([n], 0, 1e-2, 'float32', seed));
  const [w1, w2] = [randomWords(m, 3), randomWords(m, 4)];
  const [a1, a2] = [5, 6].map((seed) => tf.randomUniform([blocks], 0, 1e-2, 'float32', seed));
  /** Calls a build's kernel `name` on `inputs`, as tfjs would. */
  const kernel = (name, inputs, attrs) => (k) => k[name](undefined)({ inputs, backend: wasm, attrs });
  const steps = {
    adam: {
      bytes: 28,
      divisions: 'd3',
      call: kernel(
        'wasmAdamFloat32Kernel',
        { param, grad, m: mf, v: vf },
        { constants: adamAttrs.constants },
      ),
    },
    lion: {
      bytes: 14,
      divisions: 'd1',
      call: kernel('wasmLionBlockwise8Kernel', { param, grad, words: w1, absmax: a1 }, lionAttrs),
    },
    adam8bit: {
      bytes: 16,
      divisions: 'd5',
      call: kernel(
        'wasmAdamBlockwise8Kernel',
        { param, grad, mWords: w1, mAbsmax: a1, vWords: w2, vAbsmax: a2 },
        adamAttrs,
      ),
    },
  };
  const time = (fn) => {
    const t0 = performance.now();
    const outs = fn();
    const t = performance.now() - t0;
    for (const o of outs) wasm.disposeData(o.dataId);
    return t;
  };
  const copies = Object.values(steps).map(({ bytes }) => {
    const half = (bytes * n) / 2;
    const [from, to] = [tf.zeros([half / 4]), tf.zeros([half / 4])];
    const at = (t) => wasm.typedArrayFromHeap(t).byteOffset;
    return {
      tensors: [from, to],
      run: () => {
        const heap = new Uint8Array(wasm.typedArrayFromHeap(from).buffer);
        const t0 = performance.now();
        heap.copyWithin(at(to), at(from), at(from) + half);
        return performance.now() - t0;
      },
    };
  });
  const t = Object.fromEntries(
    Object.keys(steps).map((name) => [
      name,
      { copy: [], divisions: [], ...Object.fromEntries(Object.keys(builds).map((b) => [b, []])) },
    ]),
  );
  // Every step, copy and division loop of a round runs before any of the next, so that a busy host slows
  // them alike; the first two rounds warm up.
  for (let r = 0; r < rounds + 2; r++) {
    Object.entries(steps).forEach(([name, step], s) => {
      // the builds take turns at going first: at 1M the first call of a round measured 3–7 % slower
      const order = r % 2 ? Object.entries(builds).reverse() : Object.entries(builds);
      const got = order.map(([b, k]) => [b, time(() => step.call(k))]);
      const c = copies[s].run();
      const d0 = performance.now();
      divisions[step.divisions](n);
      const d = performance.now() - d0;
      if (r < 2) return;
      for (const [b, ms] of got) t[name][b].push(ms);
      t[name].copy.push(c);
      t[name].divisions.push(d);
    });
  }
  const ops = { d1: '1 division', d3: '3 divisions and square roots', d5: '5 divisions and square roots' };
  for (const [name, step] of Object.entries(steps)) {
    const own = t[name];
    const floor = median(own.copy);
    const parts = Object.keys(builds).map(
      (b) => `${b} ${median(own[b]).toFixed(2)} ms (${(median(own[b]) / floor).toFixed(1)}× floor)`,
    );
    if (builds.old)
      parts.push(`new/old ${median(own.new.map((x, k) => x / own.old[k])).toFixed(2)} pair by pair`);
    if (name !== 'adam')
      parts.push(`${median(own.new.map((x, k) => x / t.adam.new[k])).toFixed(2)}× adam pair by pair`);
    console.log(
      `${name}, ${n / 1e6}M: ${parts.join(', ')}; floor ${floor.toFixed(2)} ms (${step.bytes} B/param); ` +
        `its ${ops[step.divisions]} alone ${median(own.divisions).toFixed(2)} ms ` +
        `(${(median(own.divisions) / median(t.adam.new)).toFixed(2)}× adam)`,
    );
  }
  tf.dispose([param, grad, mf, vf, w1, w2, a1, a2, ...copies.flatMap((c) => c.tensors)]);
}
