// Median time of a conv2d forward + backward (dx and dW) on a layer of the reference CNN (batch 32, 28x28,
// 32 -> 32 channels, 3x3, 'same'), on wasm and cpu, with this package's fix and with stock tfjs where stock
// works at all. Also times the max-pool gradient, whose wasm kernel the fix replaces, and, on wasm, per conv layer
// shape of the reference CNN, the forward conv (Winograd kernel against XNNPACK) and the filter gradient alone (the
// Winograd and direct SIMD kernels against the conv2d and matMul forms they replaced), run side by side
// (A, B, A, B, ...).
//
//   node bench/conv-grad.mjs [--quick]      (run `pnpm build` first: this imports dist/)
//
// Prints a markdown table and writes bench/results.json.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  conv2dFilterGradViaConv,
  conv2dFilterGradViaMatMul,
  conv2dFilterGradViaSimd,
  installTrainingFixes,
  selectBackend,
  uninstallTrainingFixes,
} from '../dist/index.js';

const quick = process.argv.includes('--quick');
const REPS = quick
  ? { wasm: 3, cpu: 2, cpuStock: 1, filterGrad: 3 }
  : { wasm: 15, cpu: 5, cpuStock: 3, filterGrad: 21 };
const [B, H, W, C] = [32, 28, 28, 32];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeIt(fn, reps, warmup) {
  if (warmup) await fn();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times), reps };
}

function seeded(shape, seed, scale = 1) {
  return tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale));
}

/** conv2d forward + both gradients, read back. */
function convStep(x, w, r) {
  return async () => {
    const [dx, dw] = tf.grads((a, b) => tf.sum(tf.mul(r, tf.conv2d(a, b, 1, 'same'))))([x, w]);
    await dx.data();
    await dw.data();
    tf.dispose([dx, dw]);
  };
}

/** maxPool 2x2/2 forward + gradient, read back. */
function poolStep(x, r) {
  return async () => {
    const dx = tf.grad((a) => tf.sum(tf.mul(r, tf.maxPool(a, 2, 2, 'valid'))))(x);
    await dx.data();
    dx.dispose();
  };
}

const rows = [];
const quiet = () => {};

async function bench(backend, label, setup, step, reps, warmup = true) {
  await tf.setBackend(backend);
  setup();
  const x = seeded([B, H, W, C], 1);
  const w = seeded([3, 3, C, C], 2, 1 / Math.sqrt(9 * C));
  const r = seeded([B, H, W, C], 3);
  const rp = seeded([B, H / 2, W / 2, C], 4);
  const fn = step === 'conv' ? convStep(x, w, r) : poolStep(x, rp);
  let row;
  try {
    row = { backend, op: step, variant: label, ...(await timeIt(fn, reps, warmup)) };
  } catch (e) {
    row = { backend, op: step, variant: label, error: String(e?.message ?? e).split('\n')[0] };
  }
  tf.dispose([x, w, r, rp]);
  rows.push(row);
  const shown = row.error ? `error: ${row.error}` : `${row.median.toFixed(1)} ms (n=${row.reps})`;
  console.error(`${backend.padEnd(4)} ${step} ${label.padEnd(34)} ${shown}`);
}

/**
 * Times `variants` ({ label, setup?, fn }) in turn, rep after rep (A, B, A, B, ...), after one untimed round, so
 * that a busy machine slows them alike. `fn` does the work, or returns a tensor that is then read back and disposed.
 * Leaves the default wasm fixes installed.
 */
async function interleaved(variants, reps) {
  const times = variants.map(() => []);
  for (let rep = -1; rep < reps; rep++) {
    for (const [i, v] of variants.entries()) {
      v.setup?.();
      const t0 = performance.now();
      const g = await v.fn();
      if (g === null) throw new Error(`${v.label} does not apply`);
      if (g !== undefined) {
        await g.data();
        g.dispose();
      }
      if (rep >= 0) times[i].push(performance.now() - t0);
    }
  }
  installTrainingFixes('wasm');
  return times;
}

/** Like bench, for variants that differ only in their setup, run in turn rep after rep (A, B, A, B, ...). */
async function benchSideBySide(backend, step, variants, reps) {
  await tf.setBackend(backend);
  const x = seeded([B, H, W, C], 1);
  const w = seeded([3, 3, C, C], 2, 1 / Math.sqrt(9 * C));
  const r = seeded([B, H, W, C], 3);
  const fn = convStep(x, w, r);
  const times = await interleaved(
    variants.map((v) => ({ ...v, fn })),
    reps,
  );
  tf.dispose([x, w, r]);
  for (const [i, v] of variants.entries()) {
    const t = times[i];
    const row = {
      backend,
      op: step,
      variant: v.label,
      median: median(t),
      min: Math.min(...t),
      max: Math.max(...t),
      reps,
    };
    rows.push(row);
    console.error(
      `${backend.padEnd(4)} ${step} ${v.label.padEnd(34)} ${row.median.toFixed(1)} ms (n=${reps})`,
    );
  }
}

const wasmSel = await selectBackend(['wasm'], { onLog: quiet });
await selectBackend(['cpu'], { onLog: quiet });

// wasm
await bench('wasm', 'stock tfjs', () => uninstallTrainingFixes('wasm'), 'conv', REPS.wasm);
// With and without the Winograd convs and the SIMD filter-gradient kernel, side by side.
await benchSideBySide(
  'wasm',
  'conv',
  [
    { label: 'fixed (dx via conv2d, default)', setup: () => installTrainingFixes('wasm') },
    {
      label: 'fixed, XNNPACK convs (no Winograd)',
      setup: () => {
        installTrainingFixes('wasm');
        uninstallTrainingFixes('wasm', ['conv2d-winograd']);
      },
    },
    {
      label: 'fixed, dW without the SIMD kernel',
      setup: () => installTrainingFixes('wasm', { convFilterGradSimd: false }),
    },
  ],
  REPS.wasm,
);
await bench(
  'wasm',
  'fixed, dx via stock kernel',
  () => installTrainingFixes('wasm', { convInputGrad: 'stock' }),
  'conv',
  REPS.wasm,
);
installTrainingFixes('wasm');
await bench(
  'wasm',
  'stock tfjs (wrong on x <= 0)',
  () => uninstallTrainingFixes('wasm', ['maxpool-grad']),
  'pool',
  REPS.wasm,
);
await bench('wasm', 'fixed (JS kernel)', () => installTrainingFixes('wasm'), 'pool', REPS.wasm);

// wasm, the forward 3x3 conv per 32-channel layer of the reference CNN: the Winograd kernel (fix conv2d-winograd,
// the default) against XNNPACK (the stock kernel), in turn.
const winogradRows = [];
await tf.setBackend('wasm');
for (const layer of [
  { name: 'conv2', hw: 28 },
  { name: 'conv3/4', hw: 14 },
  { name: 'conv5/6', hw: 7 },
  { name: 'conv7/8', hw: 3 },
]) {
  const x = seeded([B, layer.hw, layer.hw, C], 21);
  const w = seeded([3, 3, C, C], 22, 1 / Math.sqrt(9 * C));
  const [wino, xnn] = await interleaved(
    [
      { label: 'Winograd', setup: () => installTrainingFixes('wasm'), fn: () => tf.conv2d(x, w, 1, 'same') },
      {
        label: 'XNNPACK',
        setup: () => uninstallTrainingFixes('wasm', ['conv2d-winograd']),
        fn: () => tf.conv2d(x, w, 1, 'same'),
      },
    ],
    REPS.filterGrad,
  );
  const flop = 2 * B * layer.hw * layer.hw * C * C * 9;
  const row = {
    layer: layer.name,
    hw: layer.hw,
    winograd: median(wino),
    xnnpack: median(xnn),
    speedup: median(xnn) / median(wino),
    xnnpackGflops: flop / median(xnn) / 1e6,
    reps: wino.length,
  };
  winogradRows.push(row);
  console.error(
    `wasm conv ${layer.name.padEnd(8)} Winograd ${row.winograd.toFixed(2)} ms, XNNPACK ${row.xnnpack.toFixed(2)} ms (${row.speedup.toFixed(2)}x)`,
  );
  tf.dispose([x, w]);
}

// wasm, the filter gradient alone, per conv layer shape of the reference CNN (batch 32, 3x3 'same', 32 output
// channels). The variants of a layer run in turn, rep after rep, so that a busy machine slows them alike.
const FILTER_GRAD_LAYERS = [
  { name: 'conv1 (first layer)', hw: 28, cin: 1 },
  { name: 'conv2', hw: 28, cin: 32 },
  { name: 'conv3/4', hw: 14, cin: 32 },
  { name: 'conv5/6', hw: 7, cin: 32 },
  { name: 'conv7/8', hw: 3, cin: 32 },
];
const filterGradRows = [];
installTrainingFixes('wasm');
await tf.setBackend('wasm');
for (const layer of FILTER_GRAD_LAYERS) {
  const x = seeded([B, layer.hw, layer.hw, layer.cin], 11);
  const dy = seeded([B, layer.hw, layer.hw, C], 12);
  const fs = [3, 3, layer.cin, C];
  const winograd = layer.cin % 4 === 0;
  const simd = () => conv2dFilterGradViaSimd(x, dy, fs, 1, 'same');
  const variants = [
    ...(winograd
      ? [{ label: 'Winograd kernel (default)', setup: () => installTrainingFixes('wasm'), fn: simd }]
      : []),
    {
      label: winograd ? 'direct SIMD kernel' : 'direct SIMD kernel (default)',
      setup: () => uninstallTrainingFixes('wasm', ['conv2d-winograd']),
      fn: simd,
    },
    { label: 'conv2d form', fn: () => conv2dFilterGradViaConv(x, dy, fs, 1, 'same') },
    ...(layer.cin === 1
      ? [{ label: 'matMul form', fn: () => conv2dFilterGradViaMatMul(x, dy, fs, 1, 'same') }]
      : []),
  ];
  // The default before the current one: the direct SIMD kernel before the Winograd kernel (32 input channels),
  // and the matMul form before the direct SIMD kernel (one input channel).
  const previous = winograd ? 'direct SIMD kernel' : 'matMul form';
  const times = await interleaved(variants, REPS.filterGrad);
  const base = median(times[variants.findIndex((v) => v.label === previous)]);
  for (const [i, v] of variants.entries()) {
    const m = median(times[i]);
    const row = {
      layer: layer.name,
      shape: {
        batch: B,
        height: layer.hw,
        width: layer.hw,
        channelsIn: layer.cin,
        channelsOut: C,
        kernel: 3,
      },
      variant: v.label,
      previousDefault: v.label === previous,
      median: m,
      min: Math.min(...times[i]),
      max: Math.max(...times[i]),
      reps: times[i].length,
      speedupOverPrevious: base / m,
    };
    filterGradRows.push(row);
    console.error(
      `wasm dW ${layer.name.padEnd(20)} ${v.label.padEnd(22)} ${m.toFixed(2)} ms (n=${row.reps}, ${row.speedupOverPrevious.toFixed(2)}x)`,
    );
  }
  tf.dispose([x, dy]);
}

// cpu
await bench('cpu', 'stock tfjs', () => uninstallTrainingFixes('cpu'), 'conv', REPS.cpuStock, false);
await bench(
  'cpu',
  'fixed (dx via stock kernel, default)',
  () => installTrainingFixes('cpu'),
  'conv',
  REPS.cpu,
);
await bench(
  'cpu',
  'fixed, dx via conv2d',
  () => installTrainingFixes('cpu', { convInputGrad: 'conv2d' }),
  'conv',
  REPS.cpu,
);
installTrainingFixes('cpu');
await bench('cpu', 'stock tfjs', () => {}, 'pool', REPS.cpu);

const stockOf = (row) =>
  rows.find((r) => r.backend === row.backend && r.op === row.op && r.variant.startsWith('stock'));
const lines = [
  `conv2d 3x3 'same' forward + backward (dx, dW), batch ${B}, ${H}x${W}, ${C} -> ${C}; maxPool 2x2/2 forward + backward on the same input`,
  '',
  '| backend | op | variant | median ms | min | max | n | vs stock |',
  '|---|---|---|---:|---:|---:|---:|---:|',
];
for (const row of rows) {
  const stock = stockOf(row);
  const ratio =
    row.error || !stock || stock.error || stock === row ? '' : `${(stock.median / row.median).toFixed(1)}x`;
  const op = row.op === 'conv' ? 'conv2d fwd+bwd' : 'maxPool fwd+bwd';
  lines.push(
    row.error
      ? `| ${row.backend} | ${op} | ${row.variant} | fails: ${row.error} | | | | |`
      : `| ${row.backend} | ${op} | ${row.variant} | ${row.median.toFixed(1)} | ${row.min.toFixed(1)} | ${row.max.toFixed(1)} | ${row.reps} | ${ratio} |`,
  );
}
lines.push(
  '',
  `Forward 3x3 'same' conv on wasm, per 32-channel conv layer of the reference CNN (batch ${B}, 32 -> 32): the Winograd kernel (fix conv2d-winograd, the default) and XNNPACK (the stock kernel), timed in turn, ${REPS.filterGrad} reps each.`,
  '',
  '| layer | input | Winograd ms | XNNPACK ms | speed-up | XNNPACK GFLOP/s |',
  '|---|---|---:|---:|---:|---:|',
  ...winogradRows.map(
    (r) =>
      `| ${r.layer} | ${r.hw}x${r.hw}x${C} | ${r.winograd.toFixed(2)} | ${r.xnnpack.toFixed(2)} | ${r.speedup.toFixed(2)}x | ${r.xnnpackGflops.toFixed(1)} |`,
  ),
  '',
  `Conv filter gradient alone on wasm, per conv layer of the reference CNN (batch ${B}, 3x3 'same', ${C} output channels); the variants of a layer are timed in turn, ${REPS.filterGrad} reps each. "vs previous default" is the speed-up over the form the default replaced (the direct SIMD kernel for 32 input channels, the matMul form for one).`,
  '',
  '| layer | input | variant | median ms | min | max | vs previous default |',
  '|---|---|---|---:|---:|---:|---:|',
  ...filterGradRows.map(
    (r) =>
      `| ${r.layer} | ${r.shape.height}x${r.shape.width}x${r.shape.channelsIn} | ${r.variant}${r.previousDefault ? ' (previous default)' : ''} | ${r.median.toFixed(2)} | ${r.min.toFixed(2)} | ${r.max.toFixed(2)} | ${r.speedupOverPrevious.toFixed(2)}x |`,
  ),
);
const table = lines.join('\n');
console.log(table);

const results = {
  date: new Date().toISOString(),
  quick,
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  tfjs: tf.version_core,
  wasm: { simd: wasmSel.capabilities.simd, threads: wasmSel.capabilities.threads },
  layer: { batch: B, height: H, width: W, channelsIn: C, channelsOut: C, kernel: 3, pad: 'same' },
  rows,
  filterGrad: filterGradRows,
  winogradConv: winogradRows,
};
writeFileSync(
  fileURLToPath(new URL('./results.json', import.meta.url)),
  `${JSON.stringify(results, null, 2)}\n`,
);
