import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, MNIST_FILE_KEYS, MNIST_FILES, type MnistFileKey } from '../src/core.js';

export type FixtureFiles = Record<MnistFileKey, Uint8Array>;

/** Small deterministic MNIST-shaped IDX files: pixel and label values derived from the item index. */
export function fixtureFiles(trainCount = 20, testCount = 10): FixtureFiles {
  const images = (n: number, salt: number) => {
    const data = new Uint8Array(n * 784);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + salt * 7 + (i >> 5)) & 0xff;
    return encodeIdx({ dims: [n, 28, 28], data });
  };
  const labels = (n: number, salt: number) =>
    encodeIdx({ dims: [n], data: Uint8Array.from({ length: n }, (_, i) => (i * 7 + salt) % 10) });
  return {
    trainImages: images(trainCount, 1),
    trainLabels: labels(trainCount, 1),
    testImages: images(testCount, 2),
    testLabels: labels(testCount, 2),
  };
}

export async function tempDir(prefix = 'gradsign-datasets-'): Promise<{
  path: string;
  cleanup: () => Promise<void>;
}> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export type Layout = 'standard' | 'kaggle' | 'kaggle-nested';

/** File path (relative) of a file in a layout. `kaggle-nested` mirrors the Kaggle archive: `name/name`. */
export function layoutPath(key: MnistFileKey, layout: Layout, gz: boolean): string {
  const standard = MNIST_FILES[key];
  const kaggle = standard.replace(/-(idx\d)-ubyte$/, '.$1-ubyte');
  const suffix = gz ? '.gz' : '';
  if (layout === 'standard') return standard + suffix;
  if (layout === 'kaggle') return kaggle + suffix;
  return join('archive', standard, standard + suffix);
}

export async function writeFixtureDir(
  dir: string,
  files: FixtureFiles,
  options: { layout?: Layout; gz?: boolean } = {},
): Promise<Record<MnistFileKey, string>> {
  const layout = options.layout ?? 'standard';
  const gz = options.gz ?? false;
  const paths = {} as Record<MnistFileKey, string>;
  for (const key of MNIST_FILE_KEYS) {
    const path = join(dir, layoutPath(key, layout, gz));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, gz ? gzipSync(files[key], { level: 1 }) : files[key]);
    paths[key] = path;
  }
  return paths;
}
