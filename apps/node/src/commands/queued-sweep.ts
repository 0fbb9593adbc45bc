// Queued sweeps: `gradsign sweep|compare --queue <url>`, `gradsign sweep status|collect`.
import {
  type RunPayload,
  type StoredResult,
  SweepQueue,
  type SweepQueueError,
  type SweepStatus,
} from '@gradsign/sweep-queue';
import {
  displayName,
  type NonFiniteOptions,
  resolveConfig,
  type SweepRun,
  type TrainConfig,
} from '@gradsign/trainer';
import { type Command, Option } from 'commander';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError } from '../errors.js';
import { type RunOutput, runJson } from '../output.js';
import { integerAtLeast, positiveNumber } from '../parse.js';
import { SweepProgress } from './queue-progress.js';

/** The queue options of `sweep`, `compare`, `sweep status|collect` and `worker`. */
export interface QueueOptions {
  /** A Redis URL, or true (`--queue` alone): GRADSIGN_REDIS_URL. */
  queue?: string | boolean;
  queuePrefix: string;
  queueTimeout: number;
}

export interface SubmitOptions extends QueueOptions {
  detach?: boolean;
  checkpointEvery: number;
}

/** What the reports need of the CLI's context (program.ts's `Context`). */
export interface Reporter {
  readonly io: { readonly stdout: NodeJS.WritableStream; readonly stderr: NodeJS.WriteStream };
  readonly signal: AbortSignal;
  info(message: string): void;
  emit(line: object): void;
  print(text: string): void;
  listen(): void;
  unlisten(): void;
}

/** The fields of a sweep's options that its final report uses. */
export interface ReportOptions {
  json?: boolean;
  out?: string;
  quiet?: boolean;
  steps: number;
  batch: number;
  model: string;
}

/** Prints the table / JSON lines and writes --out, as a local sweep does; returns the exit code. */
export type Report = (
  ctx: Reporter,
  opts: ReportOptions,
  kind: 'sweep' | 'compare',
  outputs: RunOutput[],
  planned: number,
  wallSeconds: number,
) => Promise<number>;

export function addQueueConnectionOptions(cmd: Command): Command {
  return cmd
    .option(
      '--queue [redis-url]',
      'the Redis of the sweep queue: redis://[:password@]host:port[/db], rediss:// for TLS (alone: $GRADSIGN_REDIS_URL)',
    )
    .option('--queue-prefix <name>', 'key prefix in Redis, so teams can share one Redis', 'gradsign')
    .addOption(
      new Option('--queue-timeout <seconds>', 'how long to keep reconnecting to a Redis that went away')
        .argParser(positiveNumber)
        .default(30),
    );
}

/** Adds --queue, --queue-prefix, --queue-timeout, --detach and --checkpoint-every to `sweep` and `compare`. */
export function addSubmitOptions(cmd: Command): Command {
  return addQueueConnectionOptions(cmd)
    .option(
      '--detach',
      'with --queue: submit, print the sweep id and exit (collect later with gradsign sweep collect)',
    )
    .option(
      '--checkpoint-every <n>',
      'with --queue: steps between checkpoints of a run into Redis',
      integerAtLeast(1),
      100,
    );
}

/** Whether a sweep goes to the queue. */
export function isQueued(opts: Partial<SubmitOptions>): boolean {
  if (opts.detach && opts.queue === undefined) throw new UsageError('--detach needs --queue <redis-url>');
  return opts.queue !== undefined;
}

export async function connectQueue(opts: QueueOptions): Promise<SweepQueue> {
  return SweepQueue.connect(typeof opts.queue === 'string' ? opts.queue : undefined, {
    prefix: opts.queuePrefix,
    reconnectForMs: opts.queueTimeout * 1000,
  });
}

/** The exit code for a queue error (a wrong URL or sweep id is the caller's mistake). */
export function queueErrorCode(error: SweepQueueError): number {
  return error.code === 'invalid-url' || error.code === 'unknown-sweep' ? EXIT_USAGE : EXIT_FAILURE;
}

interface Planned {
  readonly kind: 'sweep' | 'compare';
  readonly plan: readonly SweepRun[];
  readonly base: Partial<TrainConfig>;
  readonly backend: string;
  readonly workers: number;
  readonly trainLimit?: number | undefined;
  readonly testLimit?: number | undefined;
  readonly evalBatch: number;
  readonly onNonFinite?: NonFiniteOptions;
}

export function payloads(p: Planned, checkpointEvery: number): RunPayload[] {
  return p.plan.map((run) => ({
    v: 1,
    config: resolveConfig({
      ...p.base,
      optimizer: run.optimizer,
      learningRate: run.learningRate,
      seed: run.seed,
    }),
    backend: p.backend,
    workers: p.workers,
    trainLimit: p.trainLimit ?? null,
    testLimit: p.testLimit ?? null,
    evalBatch: p.evalBatch,
    checkpointEvery,
    // The default (stop at the first non-finite loss) is left out, so that it does not change run ids.
    ...(p.onNonFinite && (p.onNonFinite.policy !== 'stop' || p.onNonFinite.maxConsecutive !== undefined)
      ? { onNonFinite: p.onNonFinite }
      : {}),
  }));
}

function outputOf(stored: StoredResult): RunOutput {
  return { result: stored.result, records: stored.records, wallSeconds: stored.wallSeconds };
}

function describeFailure(run: SweepStatus['runs'][number]): string {
  const c = run.payload.config;
  return `${displayName(c.optimizer)} lr=${c.learningRate} seed=${c.seed} (${run.id}): ${run.error ?? 'failed'}`;
}

/**
 * Waits for the sweep with a progress display, then reports its results in plan order like a local sweep.
 * Ctrl-C stops waiting (the sweep goes on in the queue).
 */
async function waitAndReport(
  ctx: Reporter,
  queue: SweepQueue,
  id: string,
  opts: ReportOptions & QueueOptions,
  report: Report,
  wait: boolean,
): Promise<number> {
  const start = performance.now();
  const tty = Boolean(ctx.io.stderr.isTTY);
  const progress = new SweepProgress(ctx.io.stderr, opts.json || opts.quiet ? 'none' : tty ? 'bar' : 'lines');
  let status: SweepStatus | undefined;
  ctx.listen();
  try {
    if (wait) {
      for await (const s of queue.watch(id, { signal: ctx.signal })) {
        status = s;
        progress.update(s);
      }
    } else {
      status = await queue.status(id);
    }
  } finally {
    progress.stop();
    ctx.unlisten();
  }
  const { manifest, results } = await queue.results(id);
  const collect = `gradsign sweep collect --queue ${queue.target.redacted} ${id}`;
  if (ctx.signal.aborted) {
    ctx.io.stderr.write(`stopped waiting; the sweep goes on in the queue. Later: ${collect}\n`);
    return EXIT_INTERRUPTED;
  }
  const outputs = results.filter((r): r is StoredResult => r !== null).map(outputOf);
  const kind = manifest.kind === 'compare' ? 'compare' : 'sweep';
  if (opts.json) for (const output of outputs) ctx.emit(runJson(output));
  const code = await report(
    ctx,
    opts,
    kind,
    outputs,
    manifest.runs.length,
    (performance.now() - start) / 1000,
  );
  const failed = status!.runs.filter((r) => r.state === 'failed');
  for (const run of failed) ctx.io.stderr.write(`failed: ${describeFailure(run)}\n`);
  const unfinished = status!.runs.length - outputs.length - failed.length;
  if (unfinished > 0) ctx.io.stderr.write(`${unfinished} runs are not finished yet; later: ${collect}\n`);
  return code === EXIT_OK && (failed.length > 0 || unfinished > 0) ? EXIT_FAILURE : code;
}

/** `gradsign sweep|compare … --queue`: submits one job per run, then (unless --detach) waits and reports. */
export async function queuedSweep(
  ctx: Reporter,
  opts: ReportOptions & SubmitOptions & { dataDir?: string },
  planned: Planned,
  report: Report,
): Promise<number> {
  if (opts.dataDir) {
    throw new UsageError(
      '--data-dir cannot be used with --queue: workers read their own (gradsign worker --data-dir)',
    );
  }
  const jobs = payloads(planned, opts.checkpointEvery);
  const queue = await connectQueue(opts);
  try {
    const submitted = await queue.submit(planned.kind, jobs);
    if (!opts.quiet)
      ctx.io.stderr.write(
        `submitted ${submitted.id} to ${queue.target.redacted} (prefix ${queue.prefix}): ${submitted.total} runs, ` +
          `${submitted.added} queued now, ${submitted.finished} finished already\n`,
      );
    if (opts.detach) {
      if (opts.json) ctx.emit({ type: 'submitted', ...submitted });
      else ctx.print(submitted.id);
      return EXIT_OK;
    }
    return await waitAndReport(ctx, queue, submitted.id, opts, report, true);
  } finally {
    await queue.close();
  }
}

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

/**
 * Adds `gradsign sweep status <id>` and `gradsign sweep collect <id>`: operands of `sweep` rather than
 * subcommands, so that `--queue`, `--json`, `--out` and `-q` after them are read (the program reads options after
 * a command name as that command's).
 */
export function addSweepQueueActions(
  sweep: Command,
  makeContext: (opts: { json?: boolean; quiet?: boolean }) => Reporter,
  report: Report,
  done: (code: number) => void,
  local: (opts: never) => Promise<number>,
): void {
  sweep
    .argument('[action]', 'status or collect: the progress or the outputs of the queued sweep <id>')
    .argument('[id]', 'a sweep id (printed by --detach)')
    .option('--no-wait', 'sweep collect: report the runs finished so far instead of waiting for the rest')
    .action(
      async (
        action: string | undefined,
        id: string | undefined,
        opts: QueueOptions & ReportOptions & { wait: boolean },
      ) => {
        if (action === undefined) return done(await local(opts as never));
        if (action !== 'status' && action !== 'collect') {
          throw new UsageError(`unknown sweep action '${action}' (status or collect)`);
        }
        if (!id) throw new UsageError(`gradsign sweep ${action} needs the sweep id`);
        if (opts.queue === undefined)
          throw new UsageError(`gradsign sweep ${action} needs --queue <redis-url>`);
        const ctx = makeContext(opts);
        const queue = await connectQueue(opts);
        try {
          if (action === 'status') {
            printStatus(ctx, await queue.status(id), opts.json);
            return done(EXIT_OK);
          }
          const { manifest } = await queue.results(id);
          const config = manifest.runs[0]!.payload.config;
          const reportOpts = { ...opts, steps: config.steps, batch: config.batchSize, model: config.model };
          done(await waitAndReport(ctx, queue, id, reportOpts, report, opts.wait));
        } finally {
          await queue.close();
        }
      },
    );
}
