// The end of a sweep or compare, local or queued: the summaries (tables or JSON lines), the --out files, the exit
// code.
import {
  formatFlatTable,
  formatGridTable,
  formatPairedTable,
  formatResultsTable,
  pairedDifferences,
  summarize,
} from '@gradsign/trainer';
import { anyDiverged } from './divergence.js';
import { EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_OK } from './errors.js';
import { type RunOutput, summaryJson, writeOutputs } from './output.js';
import { formatDuration } from './progress.js';
import { hasCurves, pairedJson } from './sweep-curves.js';

/** What the reports need of the command's context (`Context`). */
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

/** Prints the table / JSON lines and writes --out; returns the exit code. */
export async function reportSweep(
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
  const paired = pairedDifferences(summaries);
  if (opts.json) {
    for (const s of summaries) ctx.emit(summaryJson(s));
    for (const p of paired) ctx.emit(pairedJson(p));
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
    if (hasCurves(summaries)) {
      ctx.print(formatFlatTable(summaries));
      ctx.print('');
    }
    if (paired.length > 0) {
      ctx.print(formatPairedTable(paired));
      ctx.print(
        'Paired by seed (same initialisation and data order), each optimizer at its best rate: a − b in ' +
          'percentage points, 95 % Student-t interval on the per-seed differences; resolved: it excludes 0.',
      );
      ctx.print('');
    }
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
