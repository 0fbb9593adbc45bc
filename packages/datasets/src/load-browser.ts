import { DatasetError } from './errors.js';
import { gzipError, type IdxInflateSink, idxSinkFor, maybeGunzip } from './inflate.js';
import {
  MNIST_FILE_KEYS,
  MNIST_FILES,
  type Mnist,
  type MnistCommonOptions,
  type MnistFileBytes,
  type MnistFileKey,
  mnistFromBuffers,
} from './mnist.js';

export interface LoadMnistOptions extends MnistCommonOptions {
  /**
   * URL of the directory serving the files, absolute or relative to the page. For each file
   * `${baseUrl}/train-images-idx3-ubyte.gz` is tried first, then the raw `${baseUrl}/train-images-idx3-ubyte`.
   */
  readonly baseUrl: string;
  /** fetch implementation (default: the global `fetch`). */
  readonly fetch?: typeof fetch;
  /** Aborts the downloads. */
  readonly signal?: AbortSignal;
}

/** Decodes gzip with the standard `DecompressionStream`, whole and unbounded: for IDX data use {@link gunzipIdx}. */
export async function gunzipStream(bytes: Uint8Array): Promise<Uint8Array> {
  // Blob accepts any ArrayBuffer-backed view; the cast only narrows the generic buffer type.
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Decodes a gzipped IDX file with `DecompressionStream`, read chunk by chunk, and stops as soon as the output goes
 * past the size its IDX header declares (`TRAILING_DATA`), or refuses a header that declares more than the gzip
 * data could decode to (`TRUNCATED`). The output is allocated once, from the header. Corrupt gzip is `BAD_GZIP`.
 */
export function gunzipIdx(gz: Uint8Array, file: string): Promise<Uint8Array> {
  return inflateInto(idxSinkFor(file, gz.length), gz, file);
}

/** Reads `gz` through `DecompressionStream` into `sink`, which stops the decoding by throwing. */
export async function inflateInto(sink: IdxInflateSink, gz: Uint8Array, file: string): Promise<Uint8Array> {
  const reader = new Blob([gz as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'))
    .getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      sink.push(value);
    }
  } catch (error) {
    reader.cancel().catch(() => {}); // stops the decoder; the error that matters is already in hand
    throw gzipError(file, error);
  }
  return sink.finish();
}

async function fetchIdx(
  key: MnistFileKey,
  baseUrl: string,
  doFetch: typeof fetch,
  signal: AbortSignal | undefined,
): Promise<MnistFileBytes> {
  const base = baseUrl.replace(/\/+$/, '');
  const urls = [`${base}/${MNIST_FILES[key]}.gz`, `${base}/${MNIST_FILES[key]}`];
  for (const url of urls) {
    let response: Response;
    try {
      response = await doFetch(url, signal ? { signal } : {});
    } catch (error) {
      throw new DatasetError('READ_FAILED', url, `download failed (${String(error)})`, { cause: error });
    }
    // A 404, or an HTML page from a single-page-app fallback, means "not here": try the next name.
    const html = (response.headers.get('content-type') ?? '').includes('text/html');
    if (response.status === 404 || (response.ok && html)) {
      await response.body?.cancel();
      continue;
    }
    if (!response.ok) {
      throw new DatasetError('READ_FAILED', url, `download failed with HTTP ${response.status}`);
    }
    let raw: Uint8Array;
    try {
      raw = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      throw new DatasetError('READ_FAILED', url, `download failed (${String(error)})`, { cause: error });
    }
    // fetch has already decoded a body sent with Content-Encoding: gzip, so raw IDX under a .gz URL is accepted.
    const bytes = await maybeGunzip(raw, url, (gz) => gunzipIdx(gz, url), { acceptDecoded: true });
    return { name: url, bytes };
  }
  throw new DatasetError('NOT_FOUND', urls[0]!, `not found (also tried ${urls[1]})`);
}

/**
 * Loads MNIST over HTTP (browser, worker, or any runtime with fetch and DecompressionStream). Checksums use the
 * built-in JavaScript MD5. Every data problem throws {@link DatasetError}.
 */
export async function loadMnist(options: LoadMnistOptions): Promise<Mnist> {
  if (typeof options?.baseUrl !== 'string') throw new TypeError('loadMnist in the browser needs { baseUrl }');
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const loaded = await Promise.all(
    MNIST_FILE_KEYS.map((key) => fetchIdx(key, options.baseUrl, doFetch, options.signal)),
  );
  const files = Object.fromEntries(MNIST_FILE_KEYS.map((key, i) => [key, loaded[i]!])) as Record<
    MnistFileKey,
    MnistFileBytes
  >;
  return mnistFromBuffers(files, {
    source: {
      kind: 'url',
      location: options.baseUrl,
      files: Object.fromEntries(MNIST_FILE_KEYS.map((key, i) => [key, loaded[i]!.name])) as Record<
        MnistFileKey,
        string
      >,
    },
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    ...(options.verifyChecksums !== undefined ? { verifyChecksums: options.verifyChecksums } : {}),
  });
}
