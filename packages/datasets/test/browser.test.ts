import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as browser from '../src/browser.js';
import { encodeIdx, MNIST_FILE_KEYS, MNIST_FILES, type MnistFileKey } from '../src/core.js';
import * as node from '../src/index.js';
import { fixtureFiles, tempDir } from './helpers.js';

const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

/** Static file server over a temp dir; `routes` overrides individual paths. */
interface Route {
  status?: number;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

let root: Awaited<ReturnType<typeof tempDir>>;
let server: Server;
let origin: string;
const routes = new Map<string, Route>();
const requests: string[] = [];

beforeAll(async () => {
  root = await tempDir();
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push(url);
    const route = routes.get(url);
    if (route) {
      res.writeHead(route.status ?? 200, route.headers ?? {});
      res.end(route.body ?? '');
      return;
    }
    readFile(join(root.path, decodeURIComponent(url)))
      .then((body) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(body);
      })
      .catch(() => {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await root.cleanup();
});

async function serveFiles(sub: string, files: Partial<Record<MnistFileKey, Uint8Array>>, gz: boolean) {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(root.path, sub), { recursive: true });
  for (const [key, bytes] of Object.entries(files) as Array<[MnistFileKey, Uint8Array]>) {
    const name = MNIST_FILES[key] + (gz ? '.gz' : '');
    await writeFile(join(root.path, sub, name), gz ? gzipSync(bytes, { level: 1 }) : bytes);
  }
  return `${origin}/${sub}`;
}

async function rejection(promise: Promise<unknown>): Promise<browser.DatasetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(browser.DatasetError);
  return error as browser.DatasetError;
}

describe('browser source (fetch + DecompressionStream), served from 127.0.0.1', () => {
  it('loads the real MNIST from gzipped files with the same bytes, counts and checksums as Node', async () => {
    const reference = await node.loadMnist();
    const raw = Object.fromEntries(
      MNIST_FILE_KEYS.map((key) => {
        const split = key.startsWith('train') ? reference.train : reference.test;
        const data = key.endsWith('Images') ? split.images : split.labels;
        const header = key.endsWith('Images') ? 16 : 8;
        return [key, new Uint8Array(data.buffer, data.byteOffset - header, data.length + header)];
      }),
    ) as Record<MnistFileKey, Uint8Array>;
    const baseUrl = await serveFiles('mnist', raw, true);
    const warnings: unknown[] = [];
    const mnist = await browser.loadMnist({ baseUrl: `${baseUrl}/`, onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);
    expect(mnist.checksums.map((c) => c.ok)).toEqual([true, true, true, true]);
    expect(mnist.checksums.map((c) => c.actual)).toEqual(reference.checksums.map((c) => c.actual));
    expect(mnist.source.kind).toBe('url');
    expect(mnist.source.files.trainImages).toBe(`${baseUrl}/train-images-idx3-ubyte.gz`);
    expect(browser.labelCounts(mnist.train)).toEqual(TRAIN_COUNTS);
    expect(browser.labelCounts(mnist.test)).toEqual(TEST_COUNTS);
    expect(Buffer.compare(mnist.train.images, reference.train.images)).toBe(0);
    expect(Buffer.compare(mnist.test.labels, reference.test.labels)).toBe(0);
  });

  it('falls back to raw names when there is no .gz', async () => {
    const files = fixtureFiles(8, 4);
    const baseUrl = await serveFiles('raw', files, false);
    const mnist = await browser.loadMnist({ baseUrl, verifyChecksums: false });
    expect(mnist.source.files.testLabels).toBe(`${baseUrl}/t10k-labels-idx1-ubyte`);
    expect(Array.from(mnist.test.labels)).toEqual(Array.from(files.testLabels.subarray(8)));
    expect(requests).toContain('/raw/t10k-labels-idx1-ubyte.gz');
  });

  it('treats an HTML fallback page as "not here" and accepts a server-side Content-Encoding: gzip', async () => {
    const files = fixtureFiles(8, 4);
    const baseUrl = await serveFiles('spa', files, false);
    for (const key of MNIST_FILE_KEYS) {
      routes.set(`/spa/${MNIST_FILES[key]}.gz`, {
        headers: { 'content-type': 'text/html' },
        body: '<!doctype html><title>app</title>',
      });
    }
    const mnist = await browser.loadMnist({ baseUrl, verifyChecksums: false });
    expect(mnist.train.count).toBe(8);

    for (const key of MNIST_FILE_KEYS) {
      routes.set(`/encoded/${MNIST_FILES[key]}.gz`, {
        headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' },
        body: gzipSync(files[key]),
      });
    }
    const encoded = await browser.loadMnist({ baseUrl: `${origin}/encoded`, verifyChecksums: false });
    expect(Array.from(encoded.train.labels)).toEqual(Array.from(mnist.train.labels));
  });

  it('warns through onWarning when checksums differ (JavaScript md5)', async () => {
    const files = fixtureFiles(8, 4);
    const baseUrl = await serveFiles('warn', files, true);
    const warnings: browser.DatasetWarning[] = [];
    await browser.loadMnist({ baseUrl, onWarning: (w) => warnings.push(w) });
    expect(warnings.map((w) => w.file)).toEqual(mnistUrls(baseUrl, true));
    expect(warnings[1]!.actual).toBe(browser.md5(files.trainLabels));
  });

  it('reports a missing file with its URL', async () => {
    const { testImages: _dropped, ...rest } = fixtureFiles(8, 4);
    const baseUrl = await serveFiles('missing', rest, true);
    const error = await rejection(browser.loadMnist({ baseUrl }));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe(
      `${baseUrl}/t10k-images-idx3-ubyte.gz: not found (also tried ${baseUrl}/t10k-images-idx3-ubyte)`,
    );
  });

  it('reports a corrupt .gz with its URL', async () => {
    const files = fixtureFiles(8, 4);
    const baseUrl = await serveFiles('corrupt', files, true);
    const path = join(root.path, 'corrupt', 'train-labels-idx1-ubyte.gz');
    const gz = await readFile(path);
    await writeFile(path, gz.subarray(0, gz.length - 6));
    const error = await rejection(browser.loadMnist({ baseUrl }));
    expect(error.code).toBe('BAD_GZIP');
    expect(error.message).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/corrupt\/train-labels-idx1-ubyte\.gz: corrupt gzip/,
    );
  });

  it('reports validation problems with the URL', async () => {
    const labels = new Uint8Array(8).fill(3);
    labels[7] = 200;
    const files = { ...fixtureFiles(8, 4), trainLabels: encodeIdx({ dims: [8], data: labels }) };
    const baseUrl = await serveFiles('label', files, true);
    const error = await rejection(browser.loadMnist({ baseUrl }));
    expect(error.code).toBe('BAD_LABEL');
    expect(error.message).toBe(`${baseUrl}/train-labels-idx1-ubyte.gz: label 200 at index 7 is outside 0–9`);
  });

  it('reports HTTP errors and unreachable servers', async () => {
    routes.set('/status/train-images-idx3-ubyte.gz', { status: 500, body: 'boom' });
    let error = await rejection(browser.loadMnist({ baseUrl: `${origin}/status` }));
    expect(error.code).toBe('READ_FAILED');
    expect(error.message).toBe(`${origin}/status/train-images-idx3-ubyte.gz: download failed with HTTP 500`);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    error = await rejection(browser.loadMnist({ baseUrl: `http://127.0.0.1:${port}` }));
    expect(error.code).toBe('READ_FAILED');
    expect(error.message).toContain(`http://127.0.0.1:${port}/`);
  });
});

function mnistUrls(baseUrl: string, gz: boolean): string[] {
  return browser.mnistFileNames({ gz }).map((name) => `${baseUrl}/${name}`);
}

describe('the browser entry never reaches Node built-ins', () => {
  it('has no node: or Node-only imports in its module graph', async () => {
    const srcDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
    const seen = new Set<string>();
    const externals: string[] = [];
    const visit = async (file: string): Promise<void> => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = await readFile(join(srcDir, file), 'utf8');
      for (const match of text.matchAll(/(?:import|export)[^'"]*?from\s+'([^']+)'/g)) {
        const spec = match[1]!;
        if (spec.startsWith('./')) await visit(spec.slice(2).replace(/\.js$/, '.ts'));
        else externals.push(spec);
      }
    };
    await visit('browser.ts');
    expect(seen.has('load-browser.ts')).toBe(true);
    expect(seen.has('load-node.ts')).toBe(false);
    expect([...new Set(externals)].sort()).toEqual(['@gradsign/optim-core/rng', '@tensorflow/tfjs-core']);
    // The PRNG it takes from optim-core is a module that imports nothing.
    const rng = await readFile(createRequire(import.meta.url).resolve('@gradsign/optim-core/rng'), 'utf8');
    expect(rng).toContain('class Mulberry32');
    expect(rng).not.toMatch(/\bfrom\s*['"]|\bimport\s*\(|\brequire\s*\(/);
  });

  it('is what the package exports for the "browser" condition', async () => {
    const pkg = JSON.parse(
      await readFile(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8'),
    ) as { exports: Record<string, Record<string, unknown>> };
    expect(pkg.exports['.']!.browser).toEqual({ types: './dist/browser.d.ts', default: './dist/browser.js' });
    expect(pkg.exports['.']!.node).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
  });
});
