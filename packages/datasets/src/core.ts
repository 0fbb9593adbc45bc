// Platform-free part of the package: no Node built-ins, no DOM beyond what both sides share.
export {
  type Batch,
  batchPixels,
  createDataset,
  type DataCursor,
  Dataset,
  type DatasetOptions,
  type EvalBatch,
  evalBatches,
  evalRanges,
  makeBatch,
  normalizePixel,
} from './dataset.js';
export {
  DatasetError,
  type DatasetErrorCode,
  type DatasetWarning,
  defaultWarningHandler,
  type WarningHandler,
} from './errors.js';
export {
  describeIdxHeader,
  describeMagic,
  type EncodeIdxInput,
  encodeIdx,
  IDX_TYPES,
  type IdxArray,
  type IdxArrayByType,
  type IdxData,
  type IdxHeader,
  type IdxType,
  idxMagic,
  type ParseIdxOptions,
  parseIdx,
  readIdxHeader,
} from './idx.js';
export {
  IdxInflateSink,
  isGzip,
  MAX_DEFLATE_RATIO,
  type MaybeGunzipOptions,
  maxInflatedLength,
  maybeGunzip,
} from './inflate.js';
export { md5 } from './md5.js';
export {
  type ChecksumResult,
  type ImageSplit,
  labelCounts,
  MNIST_CLASSES,
  MNIST_COLS,
  MNIST_FILE_KEYS,
  MNIST_FILES,
  MNIST_MD5,
  MNIST_ROWS,
  type Mnist,
  type MnistCommonOptions,
  type MnistFileBytes,
  type MnistFileKey,
  type MnistFromBuffersOptions,
  type MnistSource,
  mnistFileNames,
  mnistFromBuffers,
  splitFromIdx,
  subset,
} from './mnist.js';
export { Mulberry32, permutation, shuffleInPlace } from './prng.js';
