// `gradsign sweep status <id>` and `gradsign sweep collect <id>`: the progress, or the outputs, of a queued sweep.
import type { SweepStatus } from '@gradsign/sweep-queue';
import { displayName } from '@gradsign/trainer';
import type { Command } from 'commander';
import type { CommonOptions } from '../common-options.js';
import { Context, type Io } from '../context.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { connectQueue, type QueueOptions } from '../queue-options.js';
import type { Reporter, ReportOptions } from '../sweep-report.js';
import { waitAndReport } from './queued-sweep.js';

function printStatus(ctx: Reporter, status: SweepStatus, json: boolean | undefined): void {
  if (json) {
    const { runs, ...counts } = status;
    ctx.emit({ type: 'status', ...counts });
    for (const run of runs) {
      const c = run.payload.config;
      ctx.emit({
        type: 'run-status',
        id: run.id,
        optimizer: c.optimizer,
        lr: c.learningRate,
        seed: c.seed,
        state: run.state,
        ...(run.checkpointStep ? { checkpointStep: run.checkpointStep } : {}),
        ...(run.error ? { error: run.error } : {}),
      });
    }
    return;
  }
  ctx.print(
    `${status.id} (${status.kind}): ${status.total} runs: ${status.done} done, ${status.running} running, ` +
      `${status.queued} queued, ${status.failed} failed${status.missing ? `, ${status.missing} missing (submit again)` : ''}`,
  );
  for (const run of status.runs) {
    if (run.state === 'done') continue;
    const c = run.payload.config;
    const at = run.checkpointStep ? `, checkpoint at step ${run.checkpointStep}/${c.steps}` : '';
    ctx.print(
      `  ${run.state.padEnd(7)} ${displayName(c.optimizer)} lr=${c.learningRate} seed=${c.seed}${at}`,
    );
    if (run.error) ctx.print(`          ${run.error}`);
  }
}

/** The options of `sweep status|collect`. */
export type SweepActionOptions = QueueOptions & ReportOptions & { wait: boolean };

/**
 * Adds the operands of `gradsign sweep status <id>` and `gradsign sweep collect <id>`: operands of `sweep` rather
 * than subcommands, so that `--queue`, `--json`, `--out` and `-q` after them are read (the program reads options
 * after a command name as that command's).
 */
export function addSweepActionOperands(sweep: Command): Command {
  return sweep
    .argument('[action]', 'status or collect: the progress or the outputs of the queued sweep <id>')
    .argument('[id]', 'a sweep id (printed by --detach)')
    .option('--no-wait', 'sweep collect: report the runs finished so far instead of waiting for the rest');
}

/** Runs `gradsign sweep <action> <id>`; returns the exit code. */
export async function sweepAction(
  io: Io,
  action: string,
  id: string | undefined,
  opts: SweepActionOptions,
): Promise<number> {
  if (action !== 'status' && action !== 'collect') {
    throw new UsageError(`unknown sweep action '${action}' (status or collect)`);
  }
  if (!id) throw new UsageError(`gradsign sweep ${action} needs the sweep id`);
  if (opts.queue === undefined) throw new UsageError(`gradsign sweep ${action} needs --queue <redis-url>`);
  const ctx = new Context(io, opts as unknown as CommonOptions);
  const queue = await connectQueue(opts);
  try {
    if (action === 'status') {
      printStatus(ctx, await queue.status(id), opts.json);
      return EXIT_OK;
    }
    const { manifest } = await queue.results(id);
    const config = manifest.runs[0]!.payload.config;
    const reportOpts = { ...opts, steps: config.steps, batch: config.batchSize, model: config.model };
    return await waitAndReport(ctx, queue, id, reportOpts, opts.wait);
  } finally {
    await queue.close();
  }
}
