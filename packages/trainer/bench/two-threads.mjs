// Where a 2-thread training step loses its time (blog-cnn, GradSign, wasm). Four setups, each in its own process(es)
// (bench/kernel-step.mjs), taking turns over several rounds:
//   one32   1 thread, batch 32, the other core idle
//   one16   1 thread, batch 16, the other core idle: the work of one replica of a 2-thread step
//   pair16  two independent processes at once, batch 16 each, nothing shared: what sharing the machine costs
//   par32   `--workers 2`: 2 worker threads, batch 32 split 16 + 16, with the all-reduces and barriers
// par32 − pair16 is what our synchronisation costs; pair16 − one16 is what two busy cores cost each other.
//
//   node bench/two-threads.mjs [--quick]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median } from '@gradsign/trainer';

const quick = process.argv.includes('--quick');
const [warmup, steps, rounds] = quick ? [2, 5, 1] : [60, 50, 3];
const script = fileURLToPath(new URL('./kernel-step.mjs', import.meta.url));

/** Runs kernel-step.mjs and resolves its JSON line. */
function step(threads, batch) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      script,
      'auto',
      String(warmup),
      String(steps),
      String(threads),
      String(batch),
    ]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1)))
        : reject(new Error(`kernel-step.mjs exited ${code}: ${err.trim().split('\n').at(-1)}`)),
    );
  });
}

const ms = { one32: [], one16: [], pair16: [], par32: [] };
for (let r = 0; r < rounds; r++) {
  ms.one32.push((await step(1, 32)).ms);
  ms.one16.push((await step(1, 16)).ms);
  const pair = await Promise.all([step(1, 16), step(1, 16)]);
  ms.pair16.push(Math.max(...pair.map((p) => p.ms)));
  ms.par32.push((await step(2, 32)).ms);
}
const m = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, median(v)]));
const f = (x) => x.toFixed(1);
console.log(
  `Where the 2-thread step loses time (blog-cnn, GradSign, wasm, default kernels; medians over ${rounds} round(s) of ${steps} timed steps after ${warmup} warm-up, each setup in its own process(es)):\n`,
);
console.log('| setup | ms/step |');
console.log('|---|---:|');
console.log(`| 1 thread, batch 32 | ${f(m.one32)} |`);
console.log(`| 1 thread, batch 16, other core idle | ${f(m.one16)} |`);
console.log(`| 2 independent processes at once, batch 16 each (slower of the two) | ${f(m.pair16)} |`);
console.log(`| --workers 2, batch 32 (16 per thread, all-reduce) | ${f(m.par32)} |`);
console.log(
  `\nScaling 1 → 2 threads: ${f(m.one32 / m.par32)}×; the ideal with these replicas is ${f(m.one32 / m.one16)}× (batch 32 against batch 16 alone).`,
);
console.log(
  `Of the ${f(m.par32 - m.one16)} ms a 2-thread step takes over one replica's work alone, ${f(m.pair16 - m.one16)} ms is the two cores slowing each other with nothing shared (two processes), and ${f(m.par32 - m.pair16)} ms is our synchronisation (all-reduces, barriers, thread hand-offs).`,
);
