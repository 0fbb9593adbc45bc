// Training is pinned bit for bit: a few blog-cnn steps on cpu and wasm (fused kernels, SIMD on wasm) and
// data-parallel over 2 threads must give the losses, evaluation and state recorded in
// fixtures/pinned-training.json. Refactors of kernels, models or the trainer keep these bits. The wasm runs use
// the portable kernel build: the FMA build (relaxed SIMD, Node >= 22) may round differently on another machine.
// `PIN_TRAINING=write pnpm --filter @gradsign/trainer exec vitest run test/pinned-training.test.ts` rewrites the
// fixture (only when a change of numbers is intended).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { subset } from '@gradsign/datasets';
import { afterAll, describe, expect, test } from 'vitest';
import { type Checkpoint, type TrainConfig, Trainer } from '../src/index.js';
import type { ParallelTrainer as ParallelTrainerType } from '../src/node.js';
import { smallMnist } from './data.js';
import { useBackend } from './helpers.js';

// ParallelTrainer starts its threads from the built files (see parallel.test.ts).
const { ParallelTrainer } = (await import(new URL('../dist/node.js', import.meta.url).href)) as {
  ParallelTrainer: typeof ParallelTrainerType;
};

const fixtureFile = new URL('./fixtures/pinned-training.json', import.meta.url);
const writing = process.env.PIN_TRAINING === 'write';

interface Pinned {
  losses: number[];
  eval: { correct: number; loss: number };
  /** SHA-256 of the checkpoint's tensors (names, shapes, dtypes, bytes), data cursor and dropout state. */
  state: string;
}

const CONFIG: Partial<TrainConfig> = {
  model: 'blog-cnn',
  optimizer: 'gradsign',
  learningRate: 0.003,
  batchSize: 8,
  steps: 3,
  seed: 7,
};

/** The run's exact state: every tensor's bytes, where the data stream stands and the dropout stream's state. */
function stateHash(checkpoint: Checkpoint): string {
  const hash = createHash('sha256');
  for (const t of [...checkpoint.model, ...checkpoint.optimizer]) {
    hash.update(JSON.stringify([t.name, t.shape, t.dtype]));
    hash.update(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
  }
  hash.update(JSON.stringify([checkpoint.step, checkpoint.dataCursor, checkpoint.rng]));
  return hash.digest('hex');
}

const expected: Record<string, Pinned> = writing ? {} : JSON.parse(readFileSync(fixtureFile, 'utf8'));
const got: Record<string, Pinned> = {};

afterAll(() => {
  if (writing) writeFileSync(fixtureFile, `${JSON.stringify(got, null, 2)}\n`);
});

function check(name: string, pinned: Pinned): void {
  got[name] = pinned;
  if (!writing) expect(pinned).toEqual(expected[name]);
}

async function evalSplit() {
  return subset((await smallMnist()).test, 64);
}

describe('blog-cnn training is bit-identical to the pinned run', () => {
  test.each(['cpu', 'wasm'] as const)('%s, one thread', async (backend) => {
    await useBackend(backend, 'portable');
    const trainer = Trainer.create({ config: CONFIG, data: await smallMnist() });
    try {
      const losses: number[] = [];
      for await (const record of trainer.run()) losses.push(record.loss);
      const result = await trainer.evaluate({ split: await evalSplit(), batchSize: 32 });
      const state = stateHash(await trainer.checkpoint());
      check(backend, { losses, eval: { correct: result.correct, loss: result.loss }, state });
    } finally {
      trainer.dispose();
    }
  });

  test('wasm, data-parallel over 2 threads', async () => {
    await useBackend('wasm', 'portable');
    const trainer = await ParallelTrainer.create({
      config: CONFIG,
      data: await smallMnist(),
      workers: 2,
      backend: 'wasm',
      setup: { module: fileURLToPath(new URL('./fixtures/portable-replica.mjs', import.meta.url)) },
    });
    try {
      const losses: number[] = [];
      for await (const record of trainer.run()) losses.push(record.loss);
      const result = await trainer.evaluate({ split: await evalSplit(), batchSize: 32 });
      const state = stateHash(await trainer.checkpoint());
      check('wasm-2-threads', { losses, eval: { correct: result.correct, loss: result.loss }, state });
    } finally {
      trainer.dispose();
    }
  });
});
