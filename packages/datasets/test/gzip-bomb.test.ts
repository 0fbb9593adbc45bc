import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as browser from '../src/browser.js';
import { DatasetError, encodeIdx, idxMagic, loadMnist, MNIST_FILES } from '../src/index.js';
import { fixtureFiles, tempDir, writeFixtureDir } from './helpers.js';

const MiB = 1024 * 1024;
/** Zeros after the header: 256 MiB, about 250 kB of gzip at level 9. */
const BOMB_ZEROS = 256 * MiB;
/** The header of the real train-images file: 60000×28×28 ubyte. */
const TRAIN_HEADER = encodeIdx({ dims: [60000, 28, 28], data: new Uint8Array(60000 * 784) }).subarray(0, 16);
const DECLARED = 16 + 60000 * 784;
/**
 * Peak memory allowed while refusing: 1.2× the declared size, plus room for the heap, zlib's buffers and garbage
 * not yet collected (with 16 MiB of room, a CI run once measured 78.6 MB against 73.2). Inflating the bomb would
 * take more than 256 MiB, which this bound still catches.
 */
const MEMORY_BOUND = 1.2 * DECLARED + 48 * MiB;

/** Writes `header` followed by `zeros` zero bytes as gzip, streaming, so that the test itself stays small. */
async function writeGzipBomb(path: string, header: Uint8Array, zeros: number): Promise<void> {
  const gzip = createGzip({ level: 9 });
  const written = pipeline(gzip, createWriteStream(path));
  gzip.write(header);
  const chunk = new Uint8Array(MiB);
  for (let left = zeros; left > 0; left -= chunk.length) {
    if (!gzip.write(chunk.subarray(0, Math.min(left, chunk.length)))) await once(gzip, 'drain');
  }
  gzip.end();
  await written;
}

/** Runs `load`, which must reject with a DatasetError, and returns it with the growth of the peak RSS. */
async function refusalWithPeak(
  load: () => Promise<unknown>,
): Promise<{ error: DatasetError; grewBy: number }> {
  const before = process.resourceUsage().maxRSS * 1024;
  const error = await load().then(
    () => undefined,
    (e: unknown) => e,
  );
  const grewBy = process.resourceUsage().maxRSS * 1024 - before;
  expect(error).toBeInstanceOf(DatasetError);
  return { error: error as DatasetError, grewBy };
}

let root: Awaited<ReturnType<typeof tempDir>>;
let bombDir: string;
let bombPath: string;
let server: Server;
let origin: string;

beforeAll(async () => {
  root = await tempDir();
  bombDir = join(root.path, 'bomb');
  const paths = await writeFixtureDir(bombDir, fixtureFiles(12, 6), { gz: true });
  bombPath = paths.trainImages;
  await writeGzipBomb(bombPath, TRAIN_HEADER, BOMB_ZEROS);
  server = createServer((req, res) => {
    readFile(join(bombDir, basename(req.url ?? '/'))).then(
      (body) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await root.cleanup();
});

describe('a gzip bomb: a real IDX header, then far more data than it declares', () => {
  it('is small on disk', async () => {
    expect((await stat(bombPath)).size).toBeLessThan(MiB);
  });

  it('Node: stops inflating past the declared size, names the file, and keeps memory bounded', async () => {
    const { error, grewBy } = await refusalWithPeak(() => loadMnist({ dir: bombDir, onWarning: () => {} }));
    expect(error.code).toBe('TRAILING_DATA');
    expect(error.file).toBe(bombPath);
    expect(error.message).toContain(`${bombPath}: length mismatch: header says 60000×28×28 ubyte`);
    expect(error.message).toContain(`decodes to more than its ${DECLARED} bytes`);
    expect(grewBy).toBeLessThan(MEMORY_BOUND);
  });

  it('browser: stops reading the DecompressionStream past the declared size, names the URL', async () => {
    const { error, grewBy } = await refusalWithPeak(() =>
      browser.loadMnist({ baseUrl: origin, onWarning: () => {} }),
    );
    expect(error.code).toBe('TRAILING_DATA');
    expect(error.file).toBe(`${origin}/${MNIST_FILES.trainImages}.gz`);
    expect(error.message).toContain(`decodes to more than its ${DECLARED} bytes`);
    expect(grewBy).toBeLessThan(MEMORY_BOUND);
  });
});

describe('gzip data that is not IDX at all', () => {
  it('is refused at its first bytes, without decoding the rest', async () => {
    const path = join(bombDir, `${MNIST_FILES.testImages}.gz`);
    await writeGzipBomb(path, new TextEncoder().encode('<!doctype html>'), 64 * MiB);
    const { error, grewBy } = await refusalWithPeak(() => loadMnist({ dir: bombDir, onWarning: () => {} }));
    expect(error.code).toBe('BAD_MAGIC');
    expect(error.message).toBe(`${path}: bad magic 0x3c21646f (not an IDX magic): this is not an IDX file`);
    expect(grewBy).toBeLessThan(8 * MiB);
    await writeFixtureDir(bombDir, fixtureFiles(12, 6), { gz: true }); // valid files again, for the next case
  });
});

describe('a header that declares more than the gzip data could ever decode to', () => {
  // 4294967295×28×28 ubyte would be 3.4 TB; 250 kB of gzip decode to at most 1032 times as much.
  const header = new Uint8Array(16);
  const view = new DataView(header.buffer);
  view.setUint32(0, idxMagic('ubyte', 3), false);
  for (const [i, d] of [0xffffffff, 28, 28].entries()) view.setUint32(4 + 4 * i, d, false);

  it('is refused as truncated before anything is allocated, in Node and in the browser', async () => {
    const path = join(bombDir, `${MNIST_FILES.trainImages}.gz`);
    await writeGzipBomb(path, header, 16 * MiB);
    const node = await refusalWithPeak(() => loadMnist({ dir: bombDir, onWarning: () => {} }));
    expect(node.error.code).toBe('TRUNCATED');
    expect(node.error.file).toBe(path);
    const gzBytes = (await stat(path)).size;
    expect(node.error.problem).toBe(
      `truncated: header says 4294967295×28×28 ubyte (${0xffffffff * 784} data bytes), more than ${gzBytes} ` +
        `bytes of gzip data can hold (at most ${gzBytes * 1032 + 1024} bytes)`,
    );
    expect(node.grewBy).toBeLessThan(16 * MiB);

    const web = await refusalWithPeak(() => browser.loadMnist({ baseUrl: origin, onWarning: () => {} }));
    expect(web.error.code).toBe('TRUNCATED');
    expect(web.error.file).toBe(`${origin}/${MNIST_FILES.trainImages}.gz`);
  });
});
