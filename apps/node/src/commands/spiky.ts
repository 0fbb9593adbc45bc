// `gradsign spiky`: the β1 ≠ β2 story on a synthetic problem (experiments/spiky-problem.ts documents the generator):
// Adam with β2 = 0.999, Adam with β2 = β1 and GradSign on the same stream of sparse, spiky gradients.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selectBackend } from '@gradsign/backends';
import { createOptimizer } from '@gradsign/optim-core';
import { markdownTable, meanSd } from '@gradsign/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { type Command, InvalidArgumentError } from 'commander';
import type { Io } from '../context.js';
import { EXIT_OK } from '../errors.js';
import { formatMeanSd, linePanelsSvg } from '../experiments/charts.js';
import {
  DEFAULT_PROBLEM,
  type DistancePoint,
  runSpiky,
  type SpikyProblem,
} from '../experiments/spiky-problem.js';
import { integer, integerAtLeast, parseDecimal, positiveNumber } from '../parse.js';
import { checkOutputDir } from '../validate-paths.js';

interface SpikyOptions {
  seeds: number;
  firstSeed: number;
  steps: number;
  lr: number;
  beta1: number;
  dim: number;
  spikeProb: number;
  spikeScale: number;
  spikeNoise: number;
  denseNoise: number;
  every: number;
  out: string;
  json?: boolean;
  quiet?: boolean;
}

function probability(value: string): number {
  const n = parseDecimal(value);
  if (n === undefined || !(n > 0 && n <= 1)) throw new InvalidArgumentError(`'${value}' is not in (0, 1].`);
  return n;
}

function nonNegative(value: string): number {
  const n = parseDecimal(value);
  if (n === undefined || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError(`'${value}' is not a number >= 0.`);
  return n;
}

function beta(value: string): number {
  const n = parseDecimal(value);
  if (n === undefined || !(n >= 0 && n < 1)) throw new InvalidArgumentError(`'${value}' is not in [0, 1).`);
  return n;
}

/** The three contestants; each gets a fresh optimizer per seed. */
function contestants(
  o: SpikyOptions,
): { name: string; make: (seed: number) => ReturnType<typeof createOptimizer> }[] {
  return [
    {
      name: 'Adam β2=0.999',
      make: () => createOptimizer('adam', { learningRate: o.lr, beta1: o.beta1, beta2: 0.999 }),
    },
    {
      name: `Adam β2=β1=${o.beta1}`,
      make: () => createOptimizer('adam', { learningRate: o.lr, beta1: o.beta1, beta2: o.beta1 }),
    },
    { name: 'GradSign', make: (seed) => createOptimizer('gradsign', { learningRate: o.lr, seed }) },
  ];
}

function commandLine(o: SpikyOptions): string {
  return (
    `gradsign spiky --seeds ${o.seeds} --first-seed ${o.firstSeed} --steps ${o.steps} --lr ${o.lr} --beta1 ${o.beta1} ` +
    `--dim ${o.dim} --spike-prob ${o.spikeProb} --spike-scale ${o.spikeScale} --spike-noise ${o.spikeNoise} ` +
    `--dense-noise ${o.denseNoise} --every ${o.every} --out ${o.out}`
  );
}

async function spikyCommand(io: Io, o: SpikyOptions): Promise<number> {
  await checkOutputDir('--out', o.out);
  tf.env().set('PROD', true); // silences tfjs's "install tfjs-node" banner
  await selectBackend(['cpu'], { onLog: () => {} });
  const problem: SpikyProblem = {
    dim: o.dim,
    spikeProbability: o.spikeProb,
    spikeScale: o.spikeScale,
    spikeNoise: o.spikeNoise,
    denseNoise: o.denseNoise,
  };
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.firstSeed + i);
  const results = contestants(o).map((c) => {
    const curves = seeds.map((seed) => runSpiky(c.make(seed), problem, seed, o.steps, o.every));
    if (!o.quiet && !o.json) io.stderr.write(`${c.name}: ${seeds.length} seeds done\n`);
    return { name: c.name, curves };
  });
  const summary = results.map(({ name, curves }) => {
    const last = curves.map((c) => c.at(-1)!);
    return {
      optimizer: name,
      dense: meanSd(last.map((p) => p.dense)),
      spiky: meanSd(last.map((p) => p.spiky)),
      perSeed: last.map((p, i) => ({ seed: seeds[i]!, dense: p.dense, spiky: p.spiky })),
    };
  });
  const start = meanSd(results[0]!.curves.map((c) => c[0]!.spiky));
  const table = markdownTable(
    ['Optimizer', 'Dense group: distance', 'Spiky group: distance'],
    summary.map((s) => [
      s.optimizer,
      formatMeanSd(s.dense.mean, s.dense.sd),
      formatMeanSd(s.spiky.mean, s.spiky.sd),
    ]),
  );
  const command = commandLine(o);
  const markdown = [
    '# Sparse, spiky gradients: Adam β2 = 0.999 against β2 = β1, and GradSign',
    '',
    '```sh',
    command,
    '```',
    '',
    `${2 * o.dim} parameters (${o.dim} dense, ${o.dim} spiky), ${o.steps} steps at lr ${o.lr}, seeds ${seeds.join(', ')}.`,
    `Dense gradient: (w − w*) + ${o.denseNoise}·N(0,1). Spiky gradient: ${o.spikeScale}·(w − w*) with probability ` +
      `${o.spikeProb} per step, else 0, plus ${o.spikeNoise}·N(0,1). Same expected curvature in both groups.`,
    `Distance: root mean square of w − w* per group at the last step, mean ± sd over seeds (at the start: ${start.mean.toFixed(3)}).`,
    '',
    table,
    '',
  ].join('\n');
  const mean = (curves: DistancePoint[][], key: 'dense' | 'spiky', i: number) =>
    curves.reduce((a, c) => a + c[i]![key], 0) / curves.length;
  const points = results.flatMap(({ name, curves }) =>
    curves[0]!.flatMap((p, i) => [
      { x: p.step, y: mean(curves, 'dense', i), series: name, panel: 'dense group: distance to optimum' },
      { x: p.step, y: mean(curves, 'spiky', i), series: name, panel: 'spiky group: distance to optimum' },
    ]),
  );
  const svg = await linePanelsSvg({
    title: 'Sparse, spiky gradients: distance to the optimum per group',
    subtitle: `RMS of w − w*, mean over ${seeds.length} seeds; log scale`,
    xTitle: 'step',
    points,
    logY: true,
  });
  await mkdir(o.out, { recursive: true });
  const files = ['spiky.md', 'spiky.json', 'spiky.svg'].map((f) => join(o.out, f));
  await writeFile(files[0]!, markdown);
  await writeFile(
    files[1]!,
    `${JSON.stringify({ command, problem, steps: o.steps, lr: o.lr, beta1: o.beta1, seeds, summary, curves: results }, null, 2)}\n`,
  );
  await writeFile(files[2]!, svg);
  if (o.json) io.stdout.write(`${JSON.stringify({ type: 'spiky', summary, files })}\n`);
  else {
    io.stdout.write(`${table}\n`);
    if (!o.quiet) io.stderr.write(`wrote ${files.join(', ')}\n`);
  }
  return EXIT_OK;
}

/** Adds `gradsign spiky`. */
export function addSpikyCommand(program: Command, io: Io, done: (code: number) => void): void {
  const d = DEFAULT_PROBLEM;
  program
    .command('spiky')
    .description(
      'the β1 ≠ β2 story on a synthetic problem (no MNIST, seconds): a noisy quadratic where one group of parameters gets ' +
        'its gradient only in rare large spikes; Adam β2=0.999, Adam β2=β1 and GradSign on the same gradient stream',
    )
    .addHelpText(
      'after',
      `
The generator (seeded, mulberry32): parameters w in R^(2n), w starts at 0, the optimum w* is uniform in [-1, 1).
Each step, for the dense group g = (w - w*) + dense-noise * N(0,1); for the spiky group g = a * (w - w*) +
spike-noise * N(0,1) with a = spike-scale with probability spike-prob, else 0 (so both groups have the same
expected curvature when spike-prob * spike-scale = 1). The random draws do not depend on w: every optimizer sees
the same spikes and noise. Reports the RMS distance to w* per group (mean ± sd over seeds).`,
    )
    .requiredOption('--out <dir>', 'write spiky.md, spiky.json and spiky.svg here')
    .option('--seeds <n>', 'seeds (each: its own optimum, spikes and noise)', integerAtLeast(1), 5)
    .option('--first-seed <n>', 'the first seed', integer, 0)
    .option('--steps <n>', 'steps per run', integerAtLeast(1), 1000)
    .option('--lr <number>', 'learning rate of all three optimizers', positiveNumber, 0.01)
    .option('--beta1 <b>', "Adam's β1 (and β2 of 'Adam β2=β1')", beta, 0.9)
    .option('--dim <n>', 'parameters per group', integerAtLeast(1), d.dim)
    .option(
      '--spike-prob <p>',
      'chance of a spike per step and spiky parameter',
      probability,
      d.spikeProbability,
    )
    .option('--spike-scale <s>', "a spike's curvature", positiveNumber, d.spikeScale)
    .option('--spike-noise <sd>', "sd of the spiky group's gradient noise", nonNegative, d.spikeNoise)
    .option('--dense-noise <sd>', "sd of the dense group's gradient noise", nonNegative, d.denseNoise)
    .option('--every <n>', 'steps between points of the curves', integerAtLeast(1), 10)
    .option('--json', 'print one JSON line with the summary')
    .option('-q, --quiet', 'no progress output on stderr')
    .action(async (opts: SpikyOptions) => done(await spikyCommand(io, opts)));
}
