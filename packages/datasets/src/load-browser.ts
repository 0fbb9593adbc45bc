import { DatasetError } from './errors.js';
import {
  MNIST_FILE_KEYS,
  MNIST_FILES,
  type Mnist,
  type MnistCommonOptions,
  type MnistFileBytes,
  type MnistFileKey,
  maybeGunzip,
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

/** Decodes gzip with the standard `DecompressionStream`. */
export async function gunzipStream(bytes: Uint8Array): Promise<Uint8Array> {
  // Blob accepts any ArrayBuffer-backed view; the cast only narrows the generic buffer type.
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
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
    return { name: url, bytes: await maybeGunzip(raw, url, gunzipStream) };
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
