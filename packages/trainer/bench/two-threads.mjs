// Where a 2-thread training step loses its time (blog-cnn, GradSign, wasm). Four setups, each in its own process(es)
// (bench/kernel-step.mjs), taking turns over several rounds:
//   one32   1 thread, batch 32, the other core idle
//   one16   1 thread, batch 16, the other core idle: the work of one replica of a 2-thread step
//   pair16  two independent processes at once, batch 16 each, nothing shared: what sharing the machine costs
//   par32   `--workers 2`: 2 worker threads, batch 32 split 16 + 16, with the all-reduces and barriers
// par32 − pair16 is what our synchronisation costs; pair16 − one16 is what two busy cores cost each other.
// Then one instrumented par32 run (two-threads-breakdown.mjs) splits the synchronisation: each replica's waits at the
// all-reduce barriers and the time between its steps.
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
  return jsonLines(script, ['auto', warmup, steps, threads, batch]).then((lines) => lines.at(-1));
}

/** Runs a bench script and resolves the JSON lines it printed. */
function jsonLines(path, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path, ...args.map(String)]);
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
        ? resolve(
            out
              .trim()
              .split('\n')
              .filter((l) => l.startsWith('{'))
              .map((l) => JSON.parse(l)),
          )
        : reject(new Error(`${path} exited ${code}: ${err.trim().split('\n').at(-1)}`)),
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

const breakdown = await jsonLines(fileURLToPath(new URL('./two-threads-breakdown.mjs', import.meta.url)), [
  warmup,
  steps,
]);
const driver = breakdown.find((l) => l.driver);
const replicas = breakdown.filter((l) => !l.driver).sort((a, b) => a.replica - b.replica);
console.log(
  `\nInside one --workers 2 run (instrumented; ${f(driver.msPerStep)} ms/step on the driving thread; waits are means per step, the rest medians):\n`,
);
console.log(
  '| replica | step ms | waiting at the barriers, ms | of which at the first barrier | between its steps, ms |',
);
console.log('|---:|---:|---:|---:|---:|');
for (const r of replicas)
  console.log(
    `| ${r.replica} | ${f(r.stepMs)} | ${f(r.barrierWaitMs)} (${r.byBarrier.length} barriers) | ${r.byBarrier[0].toFixed(2)} | ${r.betweenStepsMs.toFixed(2)} |`,
  );
