import { resolveConfig } from '@gradsign/trainer';
import type { RunPayload } from '../src/index.js';

/** A small run: the MLP, 20 steps on 500 training images, checkpointed every 5 steps. */
export function payload(overrides: Partial<RunPayload> = {}): RunPayload {
  return {
    v: 1,
    config: resolveConfig({ model: 'mlp', optimizer: 'adam', learningRate: 0.003, steps: 20, seed: 0 }),
    backend: 'cpu',
    workers: 1,
    trainLimit: 500,
    testLimit: 200,
    evalBatch: 250,
    checkpointEvery: 5,
    ...overrides,
  };
}
