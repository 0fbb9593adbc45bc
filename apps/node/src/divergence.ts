// Divergence in the CLI: the --on-nonfinite and --max-nonfinite flags, and how diverged runs are reported.
import { DEFAULT_MAX_CONSECUTIVE, type NonFiniteOptions, type TrainResult } from '@gradsign/trainer';
import { type Command, Option } from 'commander';
import { EXIT_DIVERGED, UsageError } from './errors.js';
import { integerAtLeast } from './parse.js';

export interface NonFiniteFlags {
  onNonfinite?: 'stop' | 'skip';
  maxNonfinite?: number;
}

/** Adds --on-nonfinite and --max-nonfinite (run, sweep, compare). */
export function addNonFiniteOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--on-nonfinite <policy>',
        `when a step's loss or gradients are NaN or infinite: stop the run as diverged (exit code ${EXIT_DIVERGED}), or skip that update`,
      )
        .choices(['stop', 'skip'])
        .default('stop'),
    )
    .option(
      '--max-nonfinite <n>',
      `with --on-nonfinite skip: skipped updates in a row before the run stops as diverged (default ${DEFAULT_MAX_CONSECUTIVE})`,
      integerAtLeast(1),
    );
}

/** The trainer's policy from the flags; --max-nonfinite without --on-nonfinite skip is a usage error. */
export function nonFiniteOptions(flags: NonFiniteFlags): NonFiniteOptions {
  const policy = flags.onNonfinite ?? 'stop';
  if (flags.maxNonfinite !== undefined && policy !== 'skip') {
    throw new UsageError(
      `--max-nonfinite ${flags.maxNonfinite} needs --on-nonfinite skip (with stop, the first non-finite loss ends the run)`,
    );
  }
  return { policy, ...(flags.maxNonfinite !== undefined ? { maxConsecutive: flags.maxNonfinite } : {}) };
}

/** True when any of the results diverged (the command then exits with EXIT_DIVERGED). */
export function anyDiverged(results: readonly Pick<TrainResult, 'diverged'>[]): boolean {
  return results.some((r) => r.diverged !== undefined);
}

/** What to try after a divergence, for the human-readable output. */
export function divergenceHint(policy: NonFiniteOptions['policy']): string {
  return policy === 'stop'
    ? 'lower the learning rate, or skip such updates with --on-nonfinite skip'
    : 'lower the learning rate';
}
