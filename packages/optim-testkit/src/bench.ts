import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

/** What the benchmark needs of an optimizer (every `StatefulOptimizer` has it). */
export interface BenchOptimizer {
  /** One optimizer step: updates each named variable with its gradient. */
  applyGradients(gradients: tf.NamedTensorMap): void;
  /** Allocates the state of `variables` now, so that its memory can be measured before any step. */
  allocateState(variables: tf.Variable[]): void;
  /** The bytes of backend memory the state holds; the benchmark checks it against `tf.memory()`. */
  stateBytes(): number;
  /** Frees the optimizer's state. */
  dispose(): void;
}

/** The reference CNN's variable shapes (REFERENCE.md): conv1, conv2–8, 8 BatchNorms (γ, β), lin1, lin2. */
export const BLOG_CNN_SHAPES: readonly number[][] = [
  [3, 3, 1, 32],
  [32],
  ...Array.from({ length: 7 }, () => [[3, 3, 32, 32], [32]]).flat(),
  ...Array.from({ length: 16 }, () => [32]),
  [32, 32],
  [32],
  [32, 10],
  [10],
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function measureStateBytes(make: () => BenchOptimizer, shapes: readonly number[][]) {
  const vars = shapes.map((s) => tf.tidy(() => tf.variable(tf.zeros(s))));
  const before = tf.memory().numBytes;
  const opt = make();
  opt.allocateState(vars);
  const bytes = tf.memory().numBytes - before;
  if (bytes !== opt.stateBytes()) throw new Error(`stateBytes() ${opt.stateBytes()} != tf.memory() ${bytes}`);
  opt.dispose();
  tf.dispose(vars);
  return { bytes, params: shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0) };
}

/**
 * Times one optimizer step on 1M parameters (four variables) for each contender, side by side in one process on
 * cpu and wasm (median of several rounds; ratios to the first contender), and measures state bytes with
 * `tf.memory()` for one 1,000,003-element tensor and for the reference CNN's shapes. Prints a markdown table.
 */
export async function benchStateAndStep(
  contenders: Record<string, () => BenchOptimizer>,
  quick: boolean,
): Promise<void> {
  const rounds = quick ? 3 : 9;
  const warmup = 1;
  const size = 1_000_000;
  const first = Object.keys(contenders)[0];
  const rows = [];
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    await tf.ready();
    const shapes = [size / 2, size / 4, size / 8, size / 8].map((n) => [n]);
    const runs = Object.entries(contenders).map(([name, make]) => {
      const vars = shapes.map((s, i) =>
        tf.tidy(() => tf.variable(tf.randomNormal(s, 0, 1, 'float32', i), true, `${backend}-${name}-${i}`)),
      );
      const grads = Object.fromEntries(
        vars.map((v, i) => [v.name, tf.randomNormal(v.shape, 0, 0.01, 'float32', 10 + i)]),
      );
      return { name, make, opt: make(), vars, grads, times: [] as number[] };
    });
    for (let r = 0; r < warmup + rounds; r++) {
      for (const run of runs) {
        const t0 = performance.now();
        run.opt.applyGradients(run.grads);
        await run.vars[0]!.data();
        if (r >= warmup) run.times.push(performance.now() - t0);
      }
    }
    const base = median(runs[0]!.times);
    for (const run of runs) {
      const one = measureStateBytes(run.make, [[1_000_003]]);
      const cnn = measureStateBytes(run.make, BLOG_CNN_SHAPES);
      rows.push({
        backend,
        name: run.name,
        ms: median(run.times),
        ratio: median(run.times) / base,
        one,
        cnn,
      });
      run.opt.dispose();
      tf.dispose([...run.vars, ...Object.values(run.grads)]);
    }
  }
  console.log(
    `Optimizer step on 1M parameters (four variables), median of ${rounds} rounds after ${warmup} warm-up.`,
  );
  console.log('State bytes from tf.memory() (equal to stateBytes()).\n');
  console.log(
    `| backend | optimizer | ms/step | × ${first} | state bytes, N = 1,000,003 | per param | state bytes, blog-cnn (66,954) | per param |`,
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  const perParam = (m: { bytes: number; params: number }) => (m.bytes / m.params).toFixed(3);
  for (const r of rows) {
    console.log(
      `| ${r.backend} | ${r.name} | ${r.ms.toFixed(1)} | ${r.ratio.toFixed(2)} | ${r.one.bytes} | ${perParam(r.one)} | ${r.cnn.bytes} | ${perParam(r.cnn)} |`,
    );
  }
}
