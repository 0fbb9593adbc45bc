// File-system errors described precisely, naming the user's path (Node only).
import { DatasetError } from './errors.js';

export function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/**
 * Turns an error of `stat`, `readdir` or `readFile` on `path` into a {@link DatasetError} that says what is wrong
 * with the path: missing, a symlink loop, not readable, a directory, …
 */
export function fsError(path: string, error: unknown, what: 'file' | 'directory'): DatasetError {
  const code = errnoCode(error);
  const options = { cause: error };
  switch (code) {
    case 'ENOENT':
      return new DatasetError('NOT_FOUND', path, `${what} not found`, options);
    case 'ENOTDIR':
      return new DatasetError('NOT_FOUND', path, `${what} not found (a parent is not a directory)`, options);
    case 'EISDIR':
      return new DatasetError('NOT_FOUND', path, 'is a directory, not an IDX file', options);
    case 'ELOOP':
      return new DatasetError('READ_FAILED', path, 'is a symlink loop (ELOOP)', options);
    case 'EACCES':
    case 'EPERM':
      return new DatasetError('READ_FAILED', path, `is not readable (${code}: permission denied)`, options);
    default: {
      const reason = error instanceof Error ? error.message : String(error);
      return new DatasetError('READ_FAILED', path, `cannot read ${what} (${reason})`, options);
    }
  }
}

/** Why a path that is neither a regular file nor a directory cannot be read as a file. */
export function notAFileProblem(info: {
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  const kind = info.isFIFO()
    ? 'a FIFO'
    : info.isSocket()
      ? 'a socket'
      : info.isCharacterDevice() || info.isBlockDevice()
        ? 'a device'
        : 'a special file';
  return `is not a regular file (${kind})`;
}
