// Queued sweeps: `gradsign sweep|compare --queue <url>` submits one job per run, waits for the workers and reports
// like a local sweep.
import type { RunPayload, StoredResult, SweepQueue, SweepStatus } from '@gradsign/sweep-queue';
import {
  displayName,
  type NonFiniteOptions,
  resolveConfig,
  type SweepRun,
  type TrainConfig,
} from '@gradsign/trainer';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, UsageError } from '../errors.js';
import { type RunOutput, runJson } from '../output.js';
import { connectQueue, type QueueOptions, type SubmitOptions } from '../queue-options.js';
import { type Reporter, type ReportOptions, reportSweep } from '../sweep-report.js';
import { SweepProgress } from './queue-progress.js';

/** A sweep's runs and the settings every run of it shares. */
export interface Planned {
  readonly kind: 'sweep' | 'compare';
  readonly plan: readonly SweepRun[];
  readonly base: Partial<TrainConfig>;
  readonly backend: string;
  readonly workers: number;
  readonly trainLimit?: number | undefined;
  readonly testLimit?: number | undefined;
  readonly evalBatch: number;
  readonly onNonFinite?: NonFiniteOptions;
  /** `--portable-kernels`: the workers run the portable wasm kernels. */
  readonly kernels?: 'auto' | 'portable';
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
    // Likewise the default kernels (FMA where the worker has relaxed SIMD).
    ...(p.kernels === 'portable' ? { kernels: 'portable' as const } : {}),
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
export async function waitAndReport(
  ctx: Reporter,
  queue: SweepQueue,
  id: string,
  opts: ReportOptions & QueueOptions,
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
  const code = await reportSweep(
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
    return await waitAndReport(ctx, queue, submitted.id, opts, true);
  } finally {
    await queue.close();
  }
}
