/** What a {@link TrainerError} is about, as a stable machine-readable code. */
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

/** What a {@link CheckpointError} is about, as a stable machine-readable code. */
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
  | 'io'
  /** Model weights or optimizer state hold a NaN or an infinity: the run had diverged. Never written, refused on read. */
  | 'non-finite';

/** A checkpoint that cannot be read or written. The message names the file when there is one. */
export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;

  constructor(code: CheckpointErrorCode, message: string) {
    super(message);
    this.name = 'CheckpointError';
    this.code = code;
  }
}

/** What went non-finite when a run diverged. */
export type DivergedQuantity = 'loss' | 'gradient' | 'weights';

/** How a run diverged, as results report it (`TrainResult.diverged`, the CLI's JSON). */
export interface Divergence {
  readonly step: number;
  readonly quantity: DivergedQuantity;
  /** 'diverged at step 2: the loss is NaN' */
  readonly message: string;
}

/**
 * A run that diverged: at `step`, `quantity` went non-finite (NaN or ±Infinity) or, under the 'skip' policy, stayed
 * so for too many steps in a row. The message reads 'diverged at step 2: the loss is NaN'.
 */
export class DivergenceError extends Error {
  readonly code = 'diverged';
  readonly step: number;
  readonly quantity: DivergedQuantity;
  /** The offending value (NaN or ±Infinity; NaN when only "not finite" is known). */
  readonly value: number;

  /** `what` replaces the default description of the quantity ('the loss is NaN'). */
  constructor(step: number, quantity: DivergedQuantity, value: number, what?: string) {
    const shown = String(value);
    const described =
      what ??
      (quantity === 'loss'
        ? `the loss is ${shown}`
        : quantity === 'gradient'
          ? 'a gradient is not finite'
          : `a weight is ${shown}`);
    super(`diverged at step ${step}: ${described}`);
    this.name = 'DivergenceError';
    this.step = step;
    this.quantity = quantity;
    this.value = value;
  }

  /** The plain-data form results carry. */
  toDivergence(): Divergence {
    return { step: this.step, quantity: this.quantity, message: this.message };
  }
}
