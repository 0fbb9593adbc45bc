// Browser-safe entry: tfjs-core ops only, no Node built-ins. File checkpoints are in '@gradsign/trainer/node'.
export {
  CHECKPOINT_MAGIC,
  CHECKPOINT_VERSION,
  type Checkpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  isCheckpoint,
  type StoreAs,
  type TensorRecord,
} from './checkpoint.js';
export {
  defaultLearningRate,
  PUBLISHED_LEARNING_RATES,
  REFERENCE_CONFIG,
  REFERENCE_LR_GRID,
  resolveConfig,
  type TrainConfig,
} from './config.js';
export { crc32 } from './crc32.js';
export {
  type DataParallelOptions,
  DataParallelTrainer,
  type ReplicaChannel,
  type SpawnReplica,
  type WebWorkerLike,
  webWorkerChannel,
} from './data-parallel.js';
export {
  CheckpointError,
  type CheckpointErrorCode,
  type DivergedQuantity,
  type Divergence,
  DivergenceError,
  TrainerError,
  type TrainerErrorCode,
} from './errors.js';
export { type EvalResult, type EvaluateOptions, evaluate } from './evaluate.js';
export { historyRecords, type StepHistory } from './history.js';
export { crossEntropy, crossEntropyPerExample } from './loss.js';
export {
  BatchNorm,
  type BatchShard,
  BlogCnn,
  type BlogCnnOptions,
  createModel,
  defaultInitBound,
  type ForwardOptions,
  listModels,
  Mlp,
  Model,
  type ModelEntry,
  type ModelOptions,
  type ModelTensor,
  ParamStore,
} from './models/index.js';
export { DEFAULT_MAX_CONSECUTIVE, type NonFiniteOptions } from './nonfinite.js';
export type { GradientObserver, ObservedVariable } from './observe/observer.js';
export { sampleIndices, type TensorSample } from './observe/sample.js';
export {
  ALL_LAYERS,
  pearson,
  type SignConfidenceOptions,
  SignConfidenceRecorder,
  type SignConfidenceReport,
  type SignConfidenceRow,
  weightedAgreement,
} from './observe/sign-confidence.js';
export type { EvalPart, ReplicaInfo, ReplicaReply, ReplicaRequest } from './parallel/protocol.js';
export { createReplica } from './parallel/replica.js';
export { deriveSeed, dropoutMask, uniformArray } from './random.js';
export { type ReplicaGroup, ReplicaGroupError, SharedReplicaGroup } from './replica-group.js';
export {
  median,
  type RunnableTrainer,
  runTrainer,
  type TrainOptions,
  type TrainResult,
  train,
} from './run.js';
export {
  type DivergedRun,
  displayName,
  formatAccuracy,
  formatDiverged,
  formatGridTable,
  formatResultsTable,
  type LrSummary,
  markdownTable,
  meanSd,
  type OptimizerSummary,
  summarize,
} from './summary.js';
export { type SweepOptions, type SweepRun, sweep, sweepPlan } from './sweep.js';
export {
  FLAT_TOLERANCE,
  type FlatRange,
  flatRange,
  formatFlatRange,
  formatFlatTable,
  formatPairedTable,
  formatRate,
  type MeanInterval,
  type PairedDifference,
  pairedDifference,
  pairedDifferences,
  pairedHeader,
  pairedRow,
  tInterval,
} from './sweep-stats.js';
export { Trainer, type TrainerOptions } from './trainer.js';
export { type StepRecord, TrainerBase, type TrainerData } from './trainer-base.js';
