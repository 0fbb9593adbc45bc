// Finding the four MNIST files in a directory tree (Node only).
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DatasetError } from './errors.js';
import { errnoCode, fsError, notAFileProblem } from './fs-node.js';
import { MNIST_FILE_KEYS, MNIST_FILES, type MnistFileKey } from './mnist.js';

/** How deep {@link findMnistFiles} looks below the given directory. */
const MAX_DEPTH = 3;

/** Maps a file name to the canonical one it stands for (`train-images.idx3-ubyte.gz` → `train-images-idx3-ubyte`). */
function canonicalName(fileName: string): string {
  return fileName.toLowerCase().replace(/\.gz$/, '').replace(/\./g, '-');
}

/** Depth, then uncompressed before `.gz`, then path order: smaller is better. */
type Rank = [number, number, string];
const better = (a: Rank, b: Rank) =>
  a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];

/** What a directory entry is, following symlinks: a file, a directory, or the error that explains why neither. */
async function classify(path: string, entry: Dirent): Promise<'file' | 'dir' | DatasetError> {
  if (entry.isSymbolicLink()) {
    try {
      const target = await stat(path);
      if (target.isFile()) return 'file';
      if (target.isDirectory()) return 'dir';
      return new DatasetError('READ_FAILED', path, `${notAFileProblem(target)} (through a symlink)`);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') {
        return new DatasetError('NOT_FOUND', path, 'is a broken symlink (its target does not exist)', {
          cause: error,
        });
      }
      return fsError(path, error, 'file');
    }
  }
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  return new DatasetError('READ_FAILED', path, notAFileProblem(entry));
}

/**
 * Finds the four MNIST files under `dir`. Per file, the shallowest match wins; at equal depth an uncompressed file
 * is preferred to a `.gz` one, then the lexicographically first path. When a file is missing but something else
 * carries its name (a directory, a symlink loop, a broken symlink, a FIFO, …), the error names that path and says
 * what it is.
 */
export async function findMnistFiles(dir: string): Promise<Record<MnistFileKey, string>> {
  const root = resolve(dir);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(root);
  } catch (error) {
    throw fsError(root, error, 'directory');
  }
  if (!info.isDirectory()) throw new DatasetError('NOT_FOUND', root, 'is not a directory');

  const wanted = new Map<string, MnistFileKey>(MNIST_FILE_KEYS.map((key) => [MNIST_FILES[key], key]));
  const found = new Map<MnistFileKey, { path: string; rank: Rank }>();
  const unusable = new Map<MnistFileKey, { error: DatasetError; rank: Rank }>();
  const unlisted: string[] = [];

  const walk = async (current: string, depth: number): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if (depth === 0) throw fsError(current, error, 'directory');
      unlisted.push(`${current} (${errnoCode(error) ?? String(error)})`);
      return; // an unreadable sub-directory is skipped, and mentioned if a file is missing
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const entry of entries) {
      const path = join(current, entry.name);
      const key = wanted.get(canonicalName(entry.name));
      if (key === undefined && !entry.isDirectory() && !entry.isSymbolicLink()) continue;
      const kind = await classify(path, entry);
      if (kind === 'dir') subdirs.push(path);
      if (key === undefined) continue;
      const rank: Rank = [depth, entry.name.toLowerCase().endsWith('.gz') ? 1 : 0, path];
      if (kind === 'file') {
        const previous = found.get(key);
        if (!previous || better(rank, previous.rank)) found.set(key, { path, rank });
        continue;
      }
      const error =
        kind === 'dir' ? new DatasetError('NOT_FOUND', path, 'is a directory, not an IDX file') : kind;
      const previous = unusable.get(key);
      if (!previous || better(rank, previous.rank)) unusable.set(key, { error, rank });
    }
    if (depth < MAX_DEPTH) {
      for (const sub of subdirs) await walk(sub, depth + 1);
    }
  };
  await walk(root, 0);

  const missing = MNIST_FILE_KEYS.filter((key) => !found.has(key));
  const explained = missing.find((key) => unusable.has(key));
  if (explained !== undefined) throw unusable.get(explained)!.error;
  if (missing.length > 0) {
    const names = missing.map((key) => MNIST_FILES[key]).join(', ');
    const skipped = unlisted.length > 0 ? `; could not list ${unlisted.join(', ')}` : '';
    throw new DatasetError(
      'NOT_FOUND',
      root,
      `missing MNIST file(s) ${names} (looked for the standard names and the Kaggle names with '.' before ` +
        `idx, raw or .gz, up to ${MAX_DEPTH} directory levels deep${skipped})`,
    );
  }
  return Object.fromEntries(MNIST_FILE_KEYS.map((key) => [key, found.get(key)!.path])) as Record<
    MnistFileKey,
    string
  >;
}
