import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, encodeIdx, loadMnist, type MnistFileKey, subset } from '../src/index.js';
import { fixtureFiles, tempDir, writeFixtureDir } from './helpers.js';

let root: Awaited<ReturnType<typeof tempDir>>;
let n = 0;
beforeAll(async () => {
  root = await tempDir();
});
afterAll(async () => root.cleanup());

/** A complete fixture directory (raw or gz), for one case. */
async function fixtureDir(options: { gz?: boolean; trainCount?: number; testCount?: number } = {}) {
  const dir = join(root.path, `case-${n++}`);
  const files = fixtureFiles(options.trainCount ?? 12, options.testCount ?? 6);
  const paths = await writeFixtureDir(dir, files, { gz: options.gz ?? false });
  return { dir, paths };
}

async function loadError(dir: string): Promise<DatasetError> {
  const error = await loadMnist({ dir, onWarning: () => {} }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatasetError);
  return error as DatasetError;
}

/** Replaces one file of a fixture directory with what `make` puts at its path; returns the load error. */
async function replaced(key: MnistFileKey, make: (path: string) => Promise<unknown>) {
  const { dir, paths } = await fixtureDir();
  await rm(paths[key]);
  await make(paths[key]);
  return { error: await loadError(dir), path: paths[key] };
}

describe('something else in place of a data file is named and described, not reported as missing', () => {
  it('a directory', async () => {
    const { error, path } = await replaced('testLabels', (p) => mkdir(p));
    expect([error.code, error.message]).toEqual(['NOT_FOUND', `${path}: is a directory, not an IDX file`]);
  });

  it('a symlink loop', async () => {
    const { error, path } = await replaced('testLabels', (p) => symlink(p, p));
    expect([error.code, error.message]).toEqual(['READ_FAILED', `${path}: is a symlink loop (ELOOP)`]);
  });

  it('a broken symlink', async () => {
    const { error, path } = await replaced('testLabels', (p) => symlink(`${p}-gone`, p));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe(`${path}: is a broken symlink (its target does not exist)`);
  });

  it('a FIFO', async () => {
    const { error, path } = await replaced('trainImages', async (p) => execFileSync('mkfifo', [p]));
    expect([error.code, error.message]).toEqual(['READ_FAILED', `${path}: is not a regular file (a FIFO)`]);
  });

  it('an unreadable file (EACCES), and an unreadable sub-directory that may hold the missing file', async () => {
    const { dir, paths } = await fixtureDir();
    await chmod(root.path, 0o755); // let an unprivileged user reach the fixture
    await chmod(dir, 0o755);
    await chmod(paths.trainLabels, 0o000);
    const hidden = join(dir, 'private');
    await mkdir(hidden, { mode: 0o700 });
    const asUnprivileged = async <T>(fn: () => Promise<T>): Promise<T> => {
      // root reads anything: drop to "nobody" for the call (the effective uid only, so it can be restored)
      const isRoot = process.geteuid?.() === 0;
      if (isRoot) process.seteuid!(65534);
      try {
        return await fn();
      } finally {
        if (isRoot) process.seteuid!(0);
      }
    };
    let error = await asUnprivileged(() => loadError(dir));
    expect(error.code).toBe('READ_FAILED');
    expect(error.message).toBe(`${paths.trainLabels}: is not readable (EACCES: permission denied)`);

    await rm(paths.testImages);
    error = await asUnprivileged(() => loadError(dir));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain(`${dir}: missing MNIST file(s) t10k-images-idx3-ubyte`);
    expect(error.message).toContain(`could not list ${hidden} (EACCES)`);
  });

  it('a symlink loop or a file given as the directory', async () => {
    const loop = join(root.path, `loop-${n++}`);
    await symlink(loop, loop);
    expect((await loadError(loop)).message).toBe(`${loop}: is a symlink loop (ELOOP)`);
    const { paths } = await fixtureDir();
    expect((await loadError(join(paths.trainImages, 'sub'))).message).toBe(
      `${join(paths.trainImages, 'sub')}: directory not found (a parent is not a directory)`,
    );
  });
});

describe('empty data is refused at load, naming the file', () => {
  it('an empty file, raw or named .gz', async () => {
    for (const gz of [false, true]) {
      const { dir, paths } = await fixtureDir({ gz });
      await writeFile(paths.trainLabels, new Uint8Array(0));
      const error = await loadError(dir);
      expect([error.code, error.message]).toEqual(['EMPTY', `${paths.trainLabels}: is empty (0 bytes)`]);
    }
  });

  it('a .gz file that decodes to nothing', async () => {
    const { dir, paths } = await fixtureDir({ gz: true });
    await writeFile(paths.testImages, gzipSync(new Uint8Array(0)));
    const error = await loadError(dir);
    expect([error.code, error.message]).toEqual(['EMPTY', `${paths.testImages}: is empty (0 bytes)`]);
  });

  it('valid IDX files holding 0 items', async () => {
    const { dir, paths } = await fixtureDir();
    await writeFile(paths.trainImages, encodeIdx({ dims: [0, 28, 28], data: new Uint8Array(0) }));
    await writeFile(paths.trainLabels, encodeIdx({ dims: [0], data: new Uint8Array(0) }));
    const error = await loadError(dir);
    expect(error.code).toBe('EMPTY');
    expect(error.message).toBe(
      `${paths.trainImages}: holds 0 images (the header says 0×28×28); a split needs at least one`,
    );
  });
});

describe('a .gz file must be gzip, as the README promises', () => {
  it('an uncompressed IDX file named .gz is refused, with a hint', async () => {
    const { dir, paths } = await fixtureDir({ gz: true });
    await writeFile(paths.trainImages, fixtureFiles(12, 6).trainImages);
    const error = await loadError(dir);
    expect(error.code).toBe('BAD_GZIP');
    expect(error.message).toBe(
      `${paths.trainImages}: is named .gz but is not gzip (expected magic 1f 8b, found 00 00); ` +
        'it looks like uncompressed IDX: drop the .gz from its name',
    );
  });
});

describe('limits above the size of a split', () => {
  it('subset refuses more items than the split holds, with both numbers (no silent clamp)', async () => {
    const { dir } = await fixtureDir();
    const mnist = await loadMnist({ dir, onWarning: () => {} });
    expect([mnist.train.count, mnist.test.count]).toEqual([12, 6]);
    expect(() => subset(mnist.train, 99999999)).toThrow(
      new RangeError("subset of 99999999 items from 0 does not fit split 'train', which holds 12 items"),
    );
    expect(subset(mnist.train, 12).count).toBe(12);
  });
});

describe('the README error table', () => {
  it('lists exactly the codes of DatasetErrorCode', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const source = await readFile(new URL('../src/errors.ts', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('| `code`'));
    const documented = [...table.slice(0, table.indexOf('\n\n')).matchAll(/^\| `([A-Z_]+)`/gm)].map(
      (m) => m[1],
    );
    const declared = [...source.matchAll(/^\s+\| '([A-Z_]+)'/gm)].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(10);
    expect([...documented].sort()).toEqual([...declared].sort());
  });
});
