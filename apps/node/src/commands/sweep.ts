// `gradsign sweep`: a learning-rate sweep per optimizer over seeds, in this process or queued (--queue); and the
// sweep run that `gradsign compare` shares.
import {
  defaultLearningRate,
  displayName,
  REFERENCE_LR_GRID,
  type StepRecord,
  sweep,
  sweepPlan,
} from '@gradsign/trainer';
import type { Command } from 'commander';
import { addCommonOptions, type CommonOptions } from '../common-options.js';
import { Context, type Io } from '../context.js';
import { nonFiniteOptions } from '../divergence.js';
import { UsageError } from '../errors.js';
import { ensureOptimizer, loadOptimizerPackages } from '../optimizer-packages.js';
import { type RunOutput, runJson } from '../output.js';
import { integer, integerAtLeast, type LrGrid, lrGrid, nameList } from '../parse.js';
import { formatDuration } from '../progress.js';
import { addSubmitOptions, isQueued, type SubmitOptions } from '../queue-options.js';
import { reportSweep } from '../sweep-report.js';
import { checkOutputDir } from '../validate-paths.js';
import { queuedSweep } from './queued-sweep.js';
import { addSweepActionOperands, type SweepActionOptions, sweepAction } from './sweep-status.js';

export interface SweepOptions extends CommonOptions, Partial<SubmitOptions> {
  optimizers: string[];
  lrs?: LrGrid;
  seeds: number;
  firstSeed: number;
}

function learningRatesFor(opts: SweepOptions, kind: 'sweep' | 'compare'): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const name of opts.optimizers) {
    const explicit = opts.lrs?.byOptimizer[name] ?? opts.lrs?.all;
    if (explicit) out[name] = explicit;
    else if (kind === 'compare') {
      out[name] = [defaultLearningRate(name)!];
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

/** Runs a sweep or compare, here or (with --queue) on the queue's workers; returns the exit code. */
export async function runSweep(ctx: Context, opts: SweepOptions, kind: 'sweep' | 'compare'): Promise<number> {
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
      workers: ctx.replicaThreads(backend),
      trainLimit,
      testLimit,
      evalBatch,
      onNonFinite: nonFiniteOptions(opts),
      kernels: ctx.kernels,
    };
    return queuedSweep(ctx, opts as Parameters<typeof queuedSweep>[1], planned);
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

/** A sweep-like command (`sweep` or `compare`) with its options; the caller adds the action. */
export function sweepLikeCommand(program: Command, name: 'sweep' | 'compare', description: string): Command {
  return addSubmitOptions(
    addCommonOptions(
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
        .option('--seeds <n>', 'number of seeds per setting', integerAtLeast(1), 1)
        .option('--first-seed <n>', 'first seed (seeds are first-seed … first-seed + n − 1)', integer, 0),
    ),
  );
}

/** Adds `gradsign sweep`, with `sweep status|collect <id>` for queued sweeps. */
export function addSweepCommand(program: Command, io: Io, done: (code: number) => void): void {
  addSweepActionOperands(
    sweepLikeCommand(
      program,
      'sweep',
      'learning-rate sweep per optimizer over seeds; reports the best learning rate of each (reference grid by default)',
    ),
  ).action(
    async (action: string | undefined, id: string | undefined, opts: SweepOptions & SweepActionOptions) =>
      done(
        action === undefined
          ? await runSweep(new Context(io, opts), opts, 'sweep')
          : await sweepAction(io, action, id, opts),
      ),
  );
}
