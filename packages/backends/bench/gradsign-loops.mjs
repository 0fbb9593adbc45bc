// The GradSign SIMD step's two loops on wasm (gradsign-packed4.wat): the counters widened to 32 bits lane by lane
// (word-wise) against the rule on 16 counters at once in 8-bit lanes (bytewise, used where it is exact), on the
// same heap buffers, interleaved round by round, beside a copy of the bytes a step must move (its bandwidth floor:
// 14 bytes per parameter). Medians in ms per call, and the bytewise/word-wise ratio taken pair by pair.
//
//   node bench/gradsign-loops.mjs [--rounds 25]
import { selectBackend } from '@gradsign/backends';
import * as tf from '@tensorflow/tfjs-core';
import { gradSignPacked4SimdFor } from '../dist/kernels/gradsign-packed4-simd.js';

const i = process.argv.indexOf('--rounds');
const rounds = i >= 0 ? Number(process.argv[i + 1]) : 25;
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`gradsign-loops: --rounds must be a positive whole number, got ${process.argv[i + 1]}`);
  process.exit(2);
}
await selectBackend(['wasm'], { onLog: () => {} });
const wasm = tf.backend();
const simd = gradSignPacked4SimdFor(wasm);
if (simd == null) throw new Error('this wasm backend cannot run the SIMD GradSign step');
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
for (const n of [1_000_000, 10_000_000]) {
  const m = Math.ceil(n / 4);
  const [param, grad, outParam] = [1, 2, 3].map((seed) => tf.randomNormal([n], 0, 1, 'float32', seed));
  const [words, outWords] = [tf.zeros([m], 'int32'), tf.zeros([m], 'int32')];
  // 7 bytes per parameter copied: 14 moved, as a step reads 9 (p, g, c) and writes 5 (p, c)
  const [from, to] = [tf.zeros([(7 * n) / 4]), tf.zeros([(7 * n) / 4])];
  const at = (t) => wasm.typedArrayFromHeap(t).byteOffset;
  const step = (bytewise) => {
    const t0 = performance.now();
    simd.gradSignPacked4(
      at(param),
      at(grad),
      at(words),
      at(outParam),
      at(outWords),
      n,
      m,
      1e-3,
      1 / 64,
      3,
      4,
      8,
      1,
      bytewise,
    );
    return performance.now() - t0;
  };
  const copy = () => {
    const heap = wasm.typedArrayFromHeap(from);
    const bytes = new Uint8Array(heap.buffer);
    const t0 = performance.now();
    bytes.copyWithin(at(to), at(from), at(from) + 7 * n);
    return performance.now() - t0;
  };
  const t = { wordwise: [], bytewise: [], copy: [] };
  for (let r = 0; r < rounds + 2; r++) {
    const times = [step(0), step(1), copy()];
    if (r < 2) continue;
    t.wordwise.push(times[0]);
    t.bytewise.push(times[1]);
    t.copy.push(times[2]);
  }
  const ratio = median(t.bytewise.map((b, k) => b / t.wordwise[k]));
  console.log(
    `${n / 1e6}M parameters: word-wise ${median(t.wordwise).toFixed(2)} ms, bytewise ${median(t.bytewise).toFixed(2)} ms ` +
      `(${ratio.toFixed(2)}×, pair by pair), floor ${median(t.copy).toFixed(2)} ms ` +
      `(bytewise ${(median(t.bytewise) / median(t.copy)).toFixed(2)}× the floor)`,
  );
  tf.dispose([param, grad, outParam, words, outWords, from, to]);
}
