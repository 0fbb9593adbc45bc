import type { TrainResult } from '@gradsign/trainer';

// Messages between the page (main.ts) and the training worker (worker.ts). Everything is structured-cloneable.

export type BackendChoice = 'auto' | 'webgl' | 'wasm' | 'cpu';

/** One training run as the page asks for it. */
export interface RunSpec {
  model: string;
  optimizer: string;
  learningRate: number;
  steps: number;
  batchSize: number;
  seed: number;
}

export interface EvalSpec {
  /** Evaluate every this many steps (0: only at the end). */
  every: number;
  /** Evaluate on the first this many test images (1 to 10,000). */
  images: number;
}

export type ToWorker =
  | {
      type: 'init';
      backend: BackendChoice /** Absolute URL of the directory holding the MNIST .gz files. */;
      mnistUrl: string;
      /** The wasm SIMD kernels' build: 'auto' (FMA where the browser has relaxed SIMD) or 'portable'. */
      kernels: 'auto' | 'portable';
    }
  | {
      type: 'start';
      runs: RunSpec[];
      eval: EvalSpec;
      onNonFinite: 'stop' | 'skip';
      /** Replica workers per run: 1 trains in the training worker; more train data-parallel (wasm, cpu). */
      threads: number;
    }
  | { type: 'stop' }
  | { type: 'resume' }
  | { type: 'predict'; pixels: Uint8Array }
  | { type: 'sample'; index: number };

export interface OptimizerInfo {
  name: string;
  /** Display name ('GradSign' for 'gradsign'). */
  label: string;
  description: string;
  learningRate: number;
  source: string;
}

export interface BackendInfo {
  requested: BackendChoice;
  backend: string;
  simd: boolean | null;
  threads: number | null;
  webglVersion: number | null;
  webglRenderer: string | null;
  floatPrecision: number;
  int32Exact: boolean;
  int32ExactBelow: number;
  fixes: string[];
  /** Backends tried before the chosen one, with the reason each was not used. */
  skipped: { backend: string; reason: string }[];
  crossOriginIsolated: boolean;
  /** On wasm with SIMD, the build of the custom SIMD kernels: 'fma' (relaxed SIMD) or 'portable'. */
  kernels?: 'fma' | 'portable';
}

export interface MemoryInfo {
  /** Optimizer state bytes as the optimizer reports them (what tf.memory() measures). */
  stateBytes: number;
  /** Trainable parameters of the model. */
  params: number;
  /** int8 counters per int32 word on this backend (GradSign's packing). */
  counterLanes: number;
}

/** The results table in the write-up's form, for the runs of one protocol. */
export interface ResultsTable {
  /** Model, steps × batch, backend and test images. */
  protocol: string;
  rows: {
    optimizer: string;
    bestLearningRate: number;
    accuracy: string;
    seeds: number[];
    bytesPerParam: number;
    /** The rates within 0.5 pp of the best mean ('1e-3..1e-2 (10×)'), and how many rates ran. */
    flatRange: string;
    rates: number;
  }[];
  /** Per optimizer, accuracy (0…1) against learning rate: mean and sd over seeds (null when none). */
  curves: {
    optimizer: string;
    points: { learningRate: number; mean: number | null; sd: number | null; n: number; diverged: number }[];
  }[];
  /** Every pair of optimizers at its best rate, paired by seed, formatted for the table under `pairedHeader`. */
  pairedHeader: string[];
  paired: {
    pair: string;
    learningRates: string;
    difference: string;
    interval: string;
    n: number;
    resolved: string;
  }[];
}

export type FromWorker =
  | {
      type: 'ready';
      backend: BackendInfo;
      optimizers: OptimizerInfo[];
      models: { name: string; description: string }[];
      /** The reference experiment's learning rate per optimizer (compare mode). */
      referenceLearningRates: Record<string, number>;
    }
  | { type: 'data'; train: number; test: number; seconds: number }
  | { type: 'status'; text: string }
  | {
      type: 'run-start';
      runId: number;
      spec: RunSpec;
      backend: string;
      params: number;
      /** Replica workers the run trains on (1: the training worker alone). */
      threads: number;
    }
  | { type: 'step'; runId: number; step: number; loss: number; msPerStep: number }
  | { type: 'memory'; runId: number; memory: MemoryInfo }
  | { type: 'eval'; runId: number; step: number; accuracy: number; loss: number; images: number }
  | { type: 'run-done'; runId: number; result: TrainResult }
  /** The run stopped because its loss or weights went non-finite ('diverged at step 2: the loss is NaN'). */
  | { type: 'diverged'; runId: number; step: number; message: string }
  | { type: 'results'; tables: ResultsTable[] }
  | { type: 'stopped'; runId: number; step: number }
  | { type: 'done' }
  | { type: 'prediction'; probabilities: number[] }
  | { type: 'sample'; index: number; label: number; pixels: Uint8Array }
  | { type: 'error'; message: string };

/** What the page's read-only `window.gradsign.runs()` returns per run (a stable hook for tests). */
export interface RunSnapshot {
  runId: number;
  spec: RunSpec;
  backend: string;
  params: number;
  /** Replica workers the run trained on (1: the training worker alone). */
  threads: number;
  losses: number[];
  evals: { step: number; accuracy: number; loss: number; images: number }[];
  memory: MemoryInfo | undefined;
  result: TrainResult | undefined;
  /** Set when the run diverged. */
  diverged: { step: number; message: string } | undefined;
}
