// The reference CNN's training step (batch 32) per backend, beside PyTorch on CPU on the same machine running the
// same model and protocol (bench/pytorch/blog_cnn.py, if /usr/bin/python3 has torch), plus evaluation throughput
// and the peak RSS of a whole `gradsign run`. Medians; ratios come from the same run.
//
//   node bench/train-step.mjs [--quick]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  installTrainingFixes,
  selectBackend,
  setWinogradMaxTile,
  uninstallTrainingFixes,
} from '@gradsign/backends';
import { loadMnist, mnistDataDir, subset } from '@gradsign/datasets';
import { median, Trainer } from '@gradsign/trainer';
import { ParallelTrainer } from '@gradsign/trainer/node';
import * as tf from '@tensorflow/tfjs-core';

const quick = process.argv.includes('--quick');
const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
tf.env().set('PROD', true);
const mnist = await loadMnist();
const data = { train: mnist.train, test: subset(mnist.test, quick ? 500 : 2000) };

// Each plan's variants train side by side, taking turns, so that a busy machine slows them alike.
// `before` is the step as it was before the fused blocks, the matMul first-layer filter gradient and the SIMD
// filter-gradient kernel: blocks composed from tfjs ops (modelOptions.fused: false), XNNPACK convs and every conv
// filter gradient as a conv2d. `noWinograd` is today's default without the Winograd convs of @gradsign/backends
// (fix conv2d-winograd): XNNPACK's forward and input-gradient convs and the direct SIMD filter-gradient kernel.
const BEFORE = {
  label: 'before: composed blocks, XNNPACK convs, all filter grads as conv2d',
  fused: false,
  matMulMaxChannels: 0,
  filterGradSimd: false,
  winograd: false,
};
const NO_WINOGRAD = {
  label: 'fused blocks, XNNPACK convs, direct SIMD filter grads',
  fused: true,
  winograd: false,
};
// `f2` is today's default with only the 2×2-tile Winograd algorithm, F(2×2, 3×3), for every 3×3 conv.
const F2 = { label: 'fused blocks, Winograd F(2x2, 3x3) only', fused: true, winogradMaxTile: 2 };
const AFTER = { label: 'fused blocks (default)', fused: true };
// The non-finite guard: the default policy ('stop') checks the loss the step reads anyway, so AFTER has it on;
// 'skip' also checks every gradient (one isFinite + all reduction per gradient, one read) before the update.
const GUARD_SKIP = {
  label: 'fused blocks, --on-nonfinite skip (gradients checked each step)',
  fused: true,
  onNonFinite: { policy: 'skip' },
};
// Data-parallel over worker threads (`--workers 2`): whole-batch BatchNorm statistics, summed gradients.
const PARALLEL = { label: 'fused blocks, 2 worker threads (data-parallel)', fused: true, workers: 2 };
const plans = [
  {
    backend: 'wasm',
    optimizer: 'gradsign',
    warmup: quick ? 2 : 60,
    steps: quick ? 5 : 50,
    variants: [BEFORE, NO_WINOGRAD, F2, AFTER, GUARD_SKIP, PARALLEL],
  },
  { backend: 'wasm', optimizer: 'adam', warmup: quick ? 2 : 60, steps: quick ? 5 : 50, variants: [AFTER] },
  { backend: 'cpu', optimizer: 'gradsign', warmup: 1, steps: quick ? 1 : 4, variants: [AFTER] },
];

async function ourSteps({ backend, optimizer, warmup, steps, variants }) {
  await selectBackend([backend], { onLog: () => {} });
  const runs = [];
  for (const variant of variants) {
    const config = {
      model: 'blog-cnn',
      optimizer,
      steps: warmup + steps,
      batchSize: 32,
      seed: 0,
      modelOptions: { fused: variant.fused },
    };
    const trainer = variant.workers
      ? await ParallelTrainer.create({ config, data, workers: variant.workers, backend })
      : Trainer.create({
          config,
          data,
          ...(variant.onNonFinite ? { onNonFinite: variant.onNonFinite } : {}),
        });
    runs.push({ variant, trainer, times: [] });
  }
  // Warm-up is long on wasm: V8 compiles wasm code with its baseline tier first and optimises hot functions in the
  // background, and the step keeps getting faster for about the first 100 steps of a run.
  // Variants take turns in blocks of BLOCK steps: a worker-thread variant left idle while the others run a step
  // each would start every step with sleeping threads and cold caches, which a real run never sees.
  const BLOCK = 5;
  for (let i = 0; i < warmup + steps; i += BLOCK) {
    for (const run of runs) {
      installTrainingFixes(backend, {
        convFilterGradMatMulMaxChannels: run.variant.matMulMaxChannels,
        convFilterGradSimd: run.variant.filterGradSimd,
      });
      if (run.variant.winograd === false) uninstallTrainingFixes(backend, ['conv2d-winograd']);
      setWinogradMaxTile(run.variant.winogradMaxTile ?? 4);
      for (let j = i; j < Math.min(i + BLOCK, warmup + steps); j++) {
        const t0 = performance.now();
        await run.trainer.trainStep();
        // The first step of a turn is warm-up too (the threads wake up); steps before `warmup` are not timed.
        if (j >= warmup && j > i) run.times.push(performance.now() - t0);
      }
    }
  }
  installTrainingFixes(backend);
  setWinogradMaxTile(4);
  const out = [];
  for (const { variant, trainer, times } of runs) {
    const evalResult =
      backend === 'wasm' && optimizer === 'gradsign' && (variant === AFTER || variant === PARALLEL)
        ? await trainer.evaluate()
        : undefined;
    trainer.dispose();
    out.push({
      backend,
      optimizer,
      steps: times.length,
      label: variant.label,
      ms: median(times),
      imagesPerSecond: evalResult ? evalResult.count / evalResult.seconds : undefined,
    });
  }
  return out;
}

function pytorchIn(format, optimizer, threads, steps) {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return { skipped: `${python} not found` };
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return { skipped: 'torch is not installed (apt-get install -y python3-torch)' };
  }
  const out = execFileSync(
    python,
    [
      join(root, 'bench/pytorch/blog_cnn.py'),
      '--data',
      mnistDataDir(),
      '--optimizer',
      optimizer,
      '--threads',
      String(threads),
      '--steps',
      String(steps),
      '--warmup',
      '5',
      '--memory-format',
      format,
      ...(optimizer === 'gradsign' ? ['--eval'] : []),
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').at(-1));
}

/**
 * PyTorch's step in both memory formats; its fastest is the peer (channels_last is 1.6-2x faster on some CPUs).
 * The slower one is kept as `other` for the table.
 */
function pytorch(optimizer, threads, steps) {
  const runs = ['contiguous', 'channels_last'].map((f) => pytorchIn(f, optimizer, threads, steps));
  const timed = runs.filter((r) => r.msPerStep !== undefined).sort((a, b) => a.msPerStep - b.msPerStep);
  if (timed.length === 0) return runs[0];
  return { ...timed[0], other: timed[1] };
}

function peakRss() {
  const cli = join(root, 'apps/node/dist/cli.js');
  if (!existsSync(cli)) return undefined;
  const steps = quick ? 10 : 100;
  const run = spawnSync(
    process.execPath,
    [cli, 'run', '--steps', String(steps), '--backend', 'wasm', '--json'],
    { encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`gradsign run failed: ${run.stderr}`);
  const line = JSON.parse(run.stdout.trim().split('\n').at(-1));
  return { steps, mib: line.peakRssBytes / 2 ** 20 };
}

// The step with the FMA kernels (relaxed SIMD) and the portable ones, on this machine's Node (with Node 20's
// --experimental-wasm-relaxed-simd) and on Node 24 (scripts/ensure-node24.sh installs it from the npm registry),
// each in its own process (kernel-step.mjs), taking turns.
function node24() {
  const r = spawnSync('bash', [join(root, 'scripts/ensure-node24.sh')], { encoding: 'utf8' });
  if (r.status === 0) return { bin: r.stdout.trim() };
  return {
    skipped: `Node 24 could not be installed: ${r.stderr.trim().split('\n').at(-1) || `exit ${r.status}`}`,
  };
}
function kernelStep(bin, kernels, threads = 1) {
  const major = Number(
    spawnSync(bin, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout,
  );
  const flags = major < 22 ? ['--experimental-wasm-relaxed-simd'] : [];
  const script = fileURLToPath(new URL('./kernel-step.mjs', import.meta.url));
  const args = [...flags, script, kernels, String(quick ? 2 : 60), String(quick ? 5 : 50), String(threads)];
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  if (r.status !== 0) return { error: r.stderr.trim().split('\n').at(-1) };
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}
const n24 = node24();
const nodes = [process.execPath, ...(n24.bin ? [n24.bin] : [])];
const kernelRows = [];
for (const bin of nodes)
  for (const kernels of ['portable', 'auto']) kernelRows.push(kernelStep(bin, kernels));
// The same step in headless Chromium on wasm, through the web app's training worker (apps/web/bench), on one worker
// and data-parallel on 2 replica workers. Each browser run is paired with a run of this Node's default kernels on as
// many threads, taking turns, so that a busy host slows both alike; the ratio is the median of the pairs' ratios.
function browserStep(threads) {
  const run = spawnSync(
    process.execPath,
    [
      join(root, 'apps/web/bench/browser-step.mjs'),
      '--threads',
      String(threads),
      ...(quick ? ['--quick'] : []),
    ],
    { encoding: 'utf8' },
  );
  return run.status === 0
    ? JSON.parse(run.stdout.trim().split('\n').at(-1))
    : { skipped: `browser-step.mjs failed: ${run.stderr.trim().split('\n').at(-1)}` };
}
const browserPairs = quick ? 1 : 5;
const browsers = [1, 2].map((replicas) => {
  const pairs = [];
  for (let r = 0; r < browserPairs; r++) {
    const node = kernelStep(process.execPath, 'auto', replicas);
    if (node.error) return { skipped: `Node's ${replicas}-thread step failed: ${node.error}` };
    const browser = browserStep(replicas);
    if (browser.skipped) return browser;
    pairs.push({ node, browser });
  }
  const ratios = pairs.map((p) => p.browser.ms / p.node.ms);
  return {
    ...pairs[0].browser,
    ms: median(pairs.map((p) => p.browser.ms)),
    node: { ...pairs[0].node, ms: median(pairs.map((p) => p.node.ms)) },
    ratio: median(ratios),
    ratios,
  };
});

const rows = [];
for (const plan of plans) rows.push(...(await ourSteps(plan)));
const torchSteps = quick ? 10 : 40;
const torch = {
  gradsign2: pytorch('gradsign', 2, torchSteps),
  gradsign1: pytorch('gradsign', 1, torchSteps),
  adam2: pytorch('adam', 2, torchSteps),
};
const rss = peakRss();

const fmt = (x, d = 1) => (x === undefined ? '—' : x.toFixed(d));
console.log(
  `Training step of blog-cnn (66,954 parameters), batch 32, median of the timed steps after warm-up.\n`,
);
console.log(
  '| implementation | optimizer | ms/step | timed steps | × PyTorch (2 threads, same optimizer) | × PyTorch (1 thread) |',
);
console.log('|---|---|---:|---:|---:|---:|');
for (const r of rows) {
  const peer = r.optimizer === 'adam' ? torch.adam2 : torch.gradsign2;
  const ratio = peer?.msPerStep ? fmt(r.ms / peer.msPerStep, 2) : '—';
  const one =
    r.optimizer === 'gradsign' && torch.gradsign1?.msPerStep ? fmt(r.ms / torch.gradsign1.msPerStep, 2) : '—';
  console.log(
    `| gradsign, ${r.backend}, ${r.label} | ${r.optimizer} | ${fmt(r.ms)} | ${r.steps} | ${ratio} | ${one} |`,
  );
}
for (const [key, t] of Object.entries(torch)) {
  if (t.skipped) {
    console.log(`| PyTorch | ${key} | skipped: ${t.skipped} | | | |`);
    continue;
  }
  const label = (r) =>
    `${r.framework}, CPU, ${r.threads} thread${r.threads > 1 ? 's' : ''}, ${r.memoryFormat}`;
  console.log(
    `| ${label(t)} (the faster format: the peer) | ${t.optimizer} | ${fmt(t.msPerStep)} | ${t.steps} | ${t.threads > 1 ? '1.00' : '—'} | ${t.threads > 1 ? '—' : '1.00'} |`,
  );
  if (t.other)
    console.log(
      `| ${label(t.other)} | ${t.other.optimizer} | ${fmt(t.other.msPerStep)} | ${t.other.steps} | | |`,
    );
}
const wasmRow = (variant) =>
  rows.find((r) => r.backend === 'wasm' && r.optimizer === 'gradsign' && r.label === variant.label);
const [before, noWinograd, f2, after, guardSkip, parallel] = [
  BEFORE,
  NO_WINOGRAD,
  F2,
  AFTER,
  GUARD_SKIP,
  PARALLEL,
].map(wasmRow);
console.log(
  `\nOn wasm, the fused blocks and the faster convolutions (SIMD filter-gradient kernels, Winograd convs) make a GradSign step ${fmt(before.ms / after.ms, 2)}× faster than before; ` +
    `the Winograd convs alone make it ${fmt(noWinograd.ms / after.ms, 2)}× faster (F(4x4, 3x3) where it pays, against F(2x2, 3x3) only: ${fmt(f2.ms / after.ms, 2)}×), and ` +
    `2 worker threads make it a further ${fmt(after.ms / parallel.ms, 2)}× faster (same run, interleaved steps).`,
);
console.log(
  `\nNon-finite guard (same run, interleaved steps): the default, \`stop\`, checks the loss each step already reads ` +
    `and adds no tensor op (${fmt(after.ms)} ms/step); \`skip\` also checks every gradient before the update: ` +
    `${fmt(guardSkip.ms)} ms/step, ${fmt(guardSkip.ms / after.ms, 3)}× the default's.`,
);
console.log(
  `\nEvaluation throughput (eval mode, batches of 250): gradsign on wasm ${fmt(after.imagesPerSecond, 0)} images/s, ` +
    `${fmt(parallel.imagesPerSecond, 0)} images/s on 2 worker threads` +
    (torch.gradsign2.evalImagesPerSecond
      ? `; PyTorch (2 threads, batches of 1000) ${fmt(torch.gradsign2.evalImagesPerSecond, 0)} images/s.`
      : '.'),
);
console.log(
  '\nwasm kernels, FMA (relaxed SIMD) vs portable, per Node (GradSign, 1 thread, each in its own process):\n',
);
console.log('| Node | kernels | ms/step |\n|---|---|---:|');
const threadsOf = (n) => `${n} thread${n === 1 ? '' : 's'}`;
for (const k of kernelRows)
  console.log(
    k.error
      ? `| | | failed: ${k.error} |`
      : `| ${k.node}${k.threads > 1 ? `, ${threadsOf(k.threads)}` : ''} | ${k.kernels} | ${fmt(k.ms)} |`,
  );
if (n24.skipped) console.log(`| 24 | | skipped: ${n24.skipped} |`);
console.log(
  `\nThe same step in headless Chromium (the web app's training worker, wasm), each run paired with this Node's ` +
    `default kernels on as many threads, taking turns (${browserPairs} pair${browserPairs === 1 ? '' : 's'}; medians):\n`,
);
console.log(
  '| browser | kernels | ms/step | Node, same threads | browser ÷ Node (median of pairs) | pairs |',
);
console.log('|---|---|---:|---:|---:|---|');
for (const browser of browsers) {
  if (browser.skipped) {
    console.log(`| Chromium | | skipped: ${browser.skipped} | | | |`);
    continue;
  }
  const replicas = browser.replicas ?? 1;
  const where =
    replicas > 1
      ? `${replicas} replica web workers (data-parallel)`
      : `web worker, ${threadsOf(browser.threads)} of wasm`;
  const kernels =
    browser.kernels === browser.node.kernels
      ? browser.kernels
      : `${browser.kernels} (Node: ${browser.node.kernels})`;
  console.log(
    `| ${browser.browser}, ${where} | ${kernels} | ${fmt(browser.ms)} | ${fmt(browser.node.ms)} (Node ${browser.node.node}, ${threadsOf(replicas)}) | ${fmt(browser.ratio, 2)} | ${browser.ratios.map((r) => fmt(r, 2)).join(', ')} |`,
  );
}
if (rss)
  console.log(
    `\nPeak RSS of \`gradsign run --steps ${rss.steps} --backend wasm\` (blog-cnn, GradSign, including evaluation of 10,000 images): ${fmt(rss.mib, 0)} MiB.`,
  );
