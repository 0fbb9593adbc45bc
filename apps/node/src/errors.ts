/** A mistake in how the command was called: reported with a hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A run that cannot go on, for a reason the message gives in full: reported without a stack, exit code 1. */
export class CliFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliFailure';
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** Training diverged: a loss, gradient or weight went non-finite (NaN or ±Infinity) and the policy stopped the run. */
export const EXIT_DIVERGED = 3;
/** Stopped by SIGINT/SIGTERM (128 + 2, as shells report Ctrl-C). */
export const EXIT_INTERRUPTED = 130;
