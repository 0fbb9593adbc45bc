// `gradsign run`: trains one model (fresh, or resumed from a checkpoint) and evaluates it on the test set.
import {
  type Checkpoint,
  CheckpointError,
  displayName,
  historyRecords,
  resolveConfig,
  runTrainer,
  type TrainConfig,
} from '@gradsign/trainer';
import { loadCheckpoint, saveCheckpoint } from '@gradsign/trainer/node';
import type { Command } from 'commander';
import { addCommonOptions, type CommonOptions } from '../common-options.js';
import { Context, type Io } from '../context.js';
import { divergenceHint, nonFiniteOptions } from '../divergence.js';
import { EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_OK, UsageError } from '../errors.js';
import { ensureOptimizer, loadOptimizerPackages } from '../optimizer-packages.js';
import { type RunOutput, runJson, writeOutputs } from '../output.js';
import { integer, integerAtLeast, positiveNumber } from '../parse.js';
import { checkCheckpointFile, checkDistinct, checkOutputDir } from '../validate-paths.js';

interface RunOptions extends CommonOptions {
  optimizer: string;
  lr?: number;
  seed: number;
  checkpoint?: string;
  checkpointEvery: number;
  resume?: string;
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

/** Adds `gradsign run`. */
export function addRunCommand(program: Command, io: Io, done: (code: number) => void): void {
  addCommonOptions(
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
}
