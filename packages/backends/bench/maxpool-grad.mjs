// MaxPoolGrad on wasm for the reference CNN's three pools (batch 32), the WebAssembly SIMD kernel against the
// plain-JS loop it falls back to, interleaved round by round; medians in ms per call and their ratio.
//
//   node bench/maxpool-grad.mjs [--rounds 15]
import { selectBackend, setMaxPoolGradSimd } from '@gradsign/backends';
import * as tf from '@tensorflow/tfjs-core';

const i = process.argv.indexOf('--rounds');
const rounds = i >= 0 ? Number(process.argv[i + 1]) : 15;
await selectBackend(['wasm'], { onLog: () => {} });
const pools = [
  { x: [32, 28, 28, 32], k: 2, s: 2 },
  { x: [32, 14, 14, 32], k: 2, s: 2 },
  { x: [32, 7, 7, 32], k: 3, s: 2 },
];
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
for (const p of pools) {
  const input = tf.randomNormal(p.x, 0, 1, 'float32', 1);
  const output = tf.maxPool(input, p.k, p.s, 'valid');
  const dy = tf.randomNormal(output.shape, 0, 1, 'float32', 2);
  const run = (simd, reps) => {
    setMaxPoolGradSimd(simd);
    const t0 = performance.now();
    for (let r = 0; r < reps; r++)
      tf.engine()
        .runKernel(tf.MaxPoolGrad, { dy, input, output }, { filterSize: p.k, strides: p.s, pad: 'valid' })
        .dispose();
    return (performance.now() - t0) / reps;
  };
  run(true, 3);
  run(false, 3);
  const t = { simd: [], js: [] };
  for (let r = 0; r < rounds; r++) {
    t.simd.push(run(true, 5));
    t.js.push(run(false, 5));
  }
  setMaxPoolGradSimd(true);
  const [s, j] = [median(t.simd), median(t.js)];
  console.log(
    `${JSON.stringify(p.x)} k${p.k} s${p.s}: simd ${s.toFixed(3)} ms, js ${j.toFixed(3)} ms, ${(j / s).toFixed(2)}x`,
  );
  tf.dispose([input, output, dy]);
}
