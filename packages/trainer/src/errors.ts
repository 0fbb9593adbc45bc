export type TrainerErrorCode = 'invalid-config' | 'unknown-model' | 'no-test-split' | 'disposed';

/** A problem with a training configuration or its use. `code` is stable; `message` says what to change. */
export class TrainerError extends Error {
  readonly code: TrainerErrorCode;

  constructor(code: TrainerErrorCode, message: string) {
    super(message);
    this.name = 'TrainerError';
    this.code = code;
  }
}

export type CheckpointErrorCode =
  /** The bytes do not start with the checkpoint magic: not a gradsign checkpoint at all. */
  | 'not-a-checkpoint'
  /** A checkpoint of a format version this code cannot read. */
  | 'unsupported-version'
  /** Fewer bytes than the header declares: an interrupted copy or write. */
  | 'truncated'
  /** The checksum does not match, or the header or a tensor is malformed. */
  | 'corrupt'
  /** Well-formed, but does not fit the model or optimizer it is loaded into. */
  | 'incompatible'
  /** The file could not be read or written. */
  | 'io';

/** A checkpoint that cannot be read or written. The message names the file when there is one. */
export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;

  constructor(code: CheckpointErrorCode, message: string) {
    super(message);
    this.name = 'CheckpointError';
    this.code = code;
  }
}
