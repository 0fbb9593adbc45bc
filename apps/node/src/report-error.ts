// How an error that ends a command is reported, and the exit code it maps to.
import { BackendSelectionError } from '@gradsign/backends';
import { DatasetError } from '@gradsign/datasets';
import { OptimizerError } from '@gradsign/optim-core';
import { SweepQueueError } from '@gradsign/sweep-queue';
import { CheckpointError, DivergenceError, TrainerError } from '@gradsign/trainer';
import { CommanderError } from 'commander';
import { CliFailure, EXIT_DIVERGED, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors.js';

/** The exit code for a queue error (a wrong URL or sweep id is the caller's mistake). */
function queueErrorCode(error: SweepQueueError): number {
  return error.code === 'invalid-url' || error.code === 'unknown-sweep' ? EXIT_USAGE : EXIT_FAILURE;
}

/**
 * Writes what went wrong to `stderr` and returns the exit code. Every error is reported by its message; the stack
 * (for bug reports) only with `debug` (--debug). Commander has already written its own messages.
 */
export function reportError(error: unknown, stderr: NodeJS.WritableStream, debug: boolean): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
    if (error.code === 'commander.help') return EXIT_OK;
    return EXIT_USAGE;
  }
  const message = (error as Error).message;
  if (debug) stderr.write(`${(error as Error).stack ?? message}\n`);
  if (error instanceof SweepQueueError) {
    stderr.write(`error: ${message}\n`);
    return queueErrorCode(error);
  }
  if (error instanceof UsageError) {
    stderr.write(`error: ${message}\n(run with --help for usage)\n`);
    return EXIT_USAGE;
  }
  if (error instanceof DivergenceError) {
    stderr.write(`${message}\n`);
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
    stderr.write(`error: ${message}\n`);
    return error instanceof OptimizerError && error.code === 'invalid-config' ? EXIT_USAGE : EXIT_FAILURE;
  }
  stderr.write(`error: ${message}${debug ? '' : ' (run with --debug for the stack trace)'}\n`);
  return EXIT_FAILURE;
}
