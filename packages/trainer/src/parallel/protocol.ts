import type { ImageSplit } from '@gradsign/datasets';
import type { Checkpoint } from '../checkpoint.js';
import type { TrainConfig } from '../config.js';
import type { DivergedQuantity } from '../errors.js';
import type { NonFiniteOptions } from '../nonfinite.js';
import type { StepRecord } from '../trainer-base.js';

/** Messages from the thread that drives a data-parallel run to each replica thread. */
export type ReplicaRequest =
  | {
      readonly kind: 'start';
      readonly id: number;
      readonly group: SharedArrayBuffer;
      readonly index: number;
      readonly count: number;
      readonly train: ImageSplit;
      /** A fresh run from `config`, or a resumed one from `checkpoint` (with `steps` overriding its total). */
      readonly config?: TrainConfig;
      readonly checkpoint?: Checkpoint;
      readonly steps?: number;
      readonly onNonFinite?: NonFiniteOptions;
    }
  | { readonly kind: 'step'; readonly id: number }
  | {
      readonly kind: 'evaluate';
      readonly id: number;
      readonly split: ImageSplit;
      readonly start: number;
      readonly count: number;
      readonly batchSize: number;
    }
  | { readonly kind: 'checkpoint'; readonly id: number; readonly meta?: Record<string, unknown> };

/** What a replica reports once started. */
export interface ReplicaInfo {
  readonly config: TrainConfig;
  readonly step: number;
  readonly trainSeconds: number;
  readonly backend: string;
  readonly params: number;
  readonly stateBytes: number;
}

/** Correct predictions and summed loss over a range of a split. */
export interface EvalPart {
  readonly correct: number;
  readonly lossSum: number;
  readonly count: number;
}

/** A step's record, and the optimizer state's size after it (state is created lazily, at the first step). */
export interface StepDone {
  readonly record: StepRecord;
  readonly stateBytes: number;
  /** Updates skipped so far under the 'skip' non-finite policy. */
  readonly skippedSteps: number;
}

export type ReplicaResult = ReplicaInfo | StepDone | EvalPart | Checkpoint;

/** A replica's answer to request `id`: a result, or the error it threw (name, code and message survive). */
export type ReplicaReply =
  | { readonly id: number; readonly ok: ReplicaResult }
  | {
      readonly id: number;
      readonly error: {
        readonly name: string;
        readonly code?: string;
        readonly message: string;
        /** For a `DivergenceError`: where and what went non-finite. */
        readonly divergence?: { step: number; quantity: DivergedQuantity; value: number; what: string };
      };
    };
