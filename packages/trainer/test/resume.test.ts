import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Checkpoint, type TrainConfig, Trainer } from '../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/node.js';
import { smallMnist } from './data.js';
import { useBackend } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gradsign-resume-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function drain(trainer: Trainer, until?: number): Promise<number[]> {
  const losses: number[] = [];
  for await (const r of trainer.run(until === undefined ? {} : { until })) losses.push(r.loss);
  return losses;
}

/** Model tensors and optimizer state as raw bytes, for bit-for-bit comparison. */
function stateBytes(ckpt: Checkpoint): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const t of [...ckpt.model, ...ckpt.optimizer]) {
    out[t.name] = Array.from(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
  }
  return out;
}

/** Trains `steps` straight, and again stopping at `stopAt`, saving to a file, resuming in a fresh trainer. */
async function compareResume(config: Partial<TrainConfig>, stopAt: number) {
  const data = await smallMnist();
  const straight = Trainer.create({ config, data });
  const straightLosses = await drain(straight);
  const expected = await straight.checkpoint();
  straight.dispose();

  const first = Trainer.create({ config, data });
  const before = await drain(first, stopAt);
  const path = join(dir, `${config.model}-${config.optimizer}.ckpt`);
  await saveCheckpoint(path, await first.checkpoint());
  first.dispose();
  const resumed = await Trainer.restore(await loadCheckpoint(path), { data });
  expect(resumed.step).toBe(stopAt);
  const after = await drain(resumed);
  const actual = await resumed.checkpoint();
  resumed.dispose();

  expect([...before, ...after]).toEqual(straightLosses);
  expect(actual.step).toBe(expected.step);
  expect(actual.dataCursor).toEqual(expected.dataCursor);
  expect(actual.rng).toEqual(expected.rng);
  expect(stateBytes(actual)).toEqual(stateBytes(expected));
  return { expected, actual };
}

describe.each(['cpu', 'wasm'] as const)('resume on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  test.each(['gradsign', 'adam', 'sgd'])(
    'MLP with %s: 12 steps = 6 + checkpoint + 6, bit for bit',
    async (optimizer) => {
      const config = { model: 'mlp', optimizer, steps: 12, batchSize: 16, seed: 5 };
      const sgdMomentum = optimizer === 'sgd' ? { optimizerConfig: { momentum: 0.9 } } : {};
      await compareResume({ ...config, ...sgdMomentum }, 6);
    },
  );

  test('blog-cnn with gradsign: 6 steps = 3 + checkpoint + 3 (BatchNorm statistics, dropout stream)', async () => {
    const config = { model: 'blog-cnn', optimizer: 'gradsign', steps: 6, batchSize: 4, seed: 2 };
    const { actual } = await compareResume(config, 3);
    const runningVar = actual.model.find((t) => t.name === 'bn1.running_var')!;
    // The running statistics moved away from their initial value of 1, so the comparison covers them.
    expect(Array.from(runningVar.values).some((v) => v !== 1)).toBe(true);
    const counters = actual.optimizer.filter((t) => t.name.endsWith('/counts'));
    expect(counters).toHaveLength(actual.model.filter((t) => !t.name.includes('running')).length);
  });
});
