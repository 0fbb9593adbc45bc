/** Why a queue operation failed. */
export type SweepQueueErrorCode =
  /** The Redis URL cannot be used (bad scheme, port, database). */
  | 'invalid-url'
  /** Nothing answers at the URL's host and port (or TLS fails), within the connect timeout and retries. */
  | 'unreachable'
  /** Redis refused the password (or the username). */
  | 'auth'
  /** Redis went away mid-sweep and did not come back in time. */
  | 'gone'
  /** A job's payload is malformed or hostile; it is failed without training. */
  | 'invalid-job'
  /** No sweep with that id in this Redis (under this prefix). */
  | 'unknown-sweep';

/** An error of the sweep queue; messages name the Redis host and port, never the password. */
export class SweepQueueError extends Error {
  constructor(
    readonly code: SweepQueueErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SweepQueueError';
  }
}

/**
 * Thrown by a worker's `prepare` hook for a run this worker cannot take but another could (another thread count,
 * a backend it lacks or is busy on): the run goes back to the queue for a second without using up an attempt.
 */
export class RunElsewhereError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunElsewhereError';
  }
}
