/** Machine-readable reason carried by every {@link DatasetError}. */
export type DatasetErrorCode =
  /** The file does not start with a valid IDX magic, or it is not the IDX kind that was expected. */
  | 'BAD_MAGIC'
  /** The dimensions in the header are not the expected ones (e.g. images that are not 28×28). */
  | 'BAD_DIMS'
  /** The file is shorter than its header says. */
  | 'TRUNCATED'
  /** The file is longer than its header says (for gzip: inflating was stopped once past the declared size). */
  | 'TRAILING_DATA'
  /** The file is empty, or it is valid IDX holding 0 items. */
  | 'EMPTY'
  /** A label is outside 0–9. */
  | 'BAD_LABEL'
  /** The image and label files hold different numbers of items. */
  | 'COUNT_MISMATCH'
  /** A gzip stream could not be decoded, or a file named `.gz` is not gzip. */
  | 'BAD_GZIP'
  /** A file, directory or URL does not exist (or a directory or broken symlink stands where a file belongs). */
  | 'NOT_FOUND'
  /**
   * A file or URL could not be read for another reason: permissions, a symlink loop, not a regular file, network,
   * HTTP status, or no memory for the size a header declares.
   */
  | 'READ_FAILED'
  /** A data cursor cannot be restored into this dataset. */
  | 'BAD_CURSOR'
  /** Data handed to the encoder or the dataset does not fit its declared shape. */
  | 'BAD_DATA';

/**
 * The one error type thrown for every data problem. The message always starts with the file (or URL) concerned,
 * followed by the problem, e.g. `train-labels-idx1-ubyte: label 12 at index 7 is outside 0–9`.
 */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  readonly code: DatasetErrorCode;
  /** The file, URL or directory concerned; empty when there is none (e.g. a bad cursor). */
  readonly file: string;
  /** The problem alone, without the file prefix. */
  readonly problem: string;

  constructor(code: DatasetErrorCode, file: string, problem: string, options?: { cause?: unknown }) {
    super(file ? `${file}: ${problem}` : problem, options);
    this.code = code;
    this.file = file;
    this.problem = problem;
  }
}

/** A non-fatal finding, e.g. a checksum that does not match the canonical MNIST file. */
export interface DatasetWarning {
  readonly code: 'CHECKSUM_MISMATCH';
  readonly file: string;
  readonly message: string;
  readonly expected: string;
  readonly actual: string;
}

/** Receives the non-fatal findings of a load, such as checksum mismatches. */
export type WarningHandler = (warning: DatasetWarning) => void;

/** The handler used when none is given: prints the warning's message with `console.warn`. */
export const defaultWarningHandler: WarningHandler = (warning) => {
  console.warn(warning.message);
};
