/** What went wrong, as a stable machine-readable code. */
export type OptimizerErrorCode =
  | 'invalid-config'
  | 'unknown-optimizer'
  | 'duplicate-optimizer'
  | 'unknown-variable'
  | 'unknown-slot'
  | 'gradient-shape'
  | 'gradient-dtype'
  | 'unsupported-dtype'
  | 'state-shape'
  | 'state-dtype'
  | 'state-range'
  | 'no-state'
  | 'weights-mismatch'
  /** Restored state (setWeights) fits the updated variables neither by name nor by position. */
  | 'state-mismatch';

/** The one error type every optimizer-core problem throws. Nothing is mutated when it is thrown. */
export class OptimizerError extends Error {
  readonly code: OptimizerErrorCode;

  constructor(code: OptimizerErrorCode, message: string) {
    super(message);
    this.name = 'OptimizerError';
    this.code = code;
  }
}

/** Throws an {@link OptimizerError} with `code` and `message`; it never returns. */
export function fail(code: OptimizerErrorCode, message: string): never {
  throw new OptimizerError(code, message);
}
