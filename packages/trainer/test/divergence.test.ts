import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type Checkpoint,
  CheckpointError,
  crc32,
  DivergenceError,
  decodeCheckpoint,
  encodeCheckpoint,
  type StepRecord,
  type TrainConfig,
  Trainer,
  TrainerError,
  train,
} from '../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/node.js';
import { smallMnist } from './data.js';
import { useBackend } from './helpers.js';

let dir: string;
beforeAll(async () => {
  await useBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'gradsign-diverge-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const exploding: Partial<TrainConfig> = {
  model: 'mlp',
  optimizer: 'gradsign',
  learningRate: 1e308,
  steps: 5,
  batchSize: 16,
};

async function caught(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

/** A checkpoint after `steps` good steps. */
async function goodCheckpoint(steps = 2): Promise<Checkpoint> {
  const trainer = Trainer.create({
    config: { model: 'mlp', optimizer: 'adam', steps, batchSize: 8, seed: 1 },
    data: await smallMnist(),
  });
  for await (const _ of trainer.run()) {
    // drain
  }
  const ckpt = await trainer.checkpoint();
  trainer.dispose();
  return ckpt;
}

/** `ckpt` with one value of the first model (or optimizer float) tensor replaced. */
function poisoned(ckpt: Checkpoint, group: 'model' | 'optimizer', value: number): Checkpoint {
  const list = ckpt[group].map((t) => ({ ...t, values: t.values.slice() }));
  const target = list.find((t) => t.dtype === 'float32' && t.values.length > 3)!;
  target.values[3] = value;
  return { ...ckpt, [group]: list };
}

describe('the stop policy (default)', () => {
  test('lr = 1e308: Trainer.run() throws DivergenceError naming the step and the quantity', async () => {
    const trainer = Trainer.create({ config: exploding, data: await smallMnist() });
    const records: StepRecord[] = [];
    const error = await caught(async () => {
      for await (const r of trainer.run()) records.push(r);
    });
    expect(error).toBeInstanceOf(DivergenceError);
    expect(error).toMatchObject({ code: 'diverged', step: 2, quantity: 'loss' });
    expect((error as DivergenceError).value).toBeNaN();
    expect((error as Error).message).toBe('diverged at step 2: the loss is NaN');
    expect(records.map((r) => r.step)).toEqual([1]);
    expect(Number.isFinite(records[0]!.loss)).toBe(true);
    // The weights after step 1 are not finite: no checkpoint of them can be taken.
    const refused = await caught(() => trainer.checkpoint());
    expect(refused).toBeInstanceOf(DivergenceError);
    expect(refused).toMatchObject({ step: 1, quantity: 'weights' });
    expect((refused as Error).message).toMatch(/^diverged at step 1: weight '[\w.]+' is (-?Infinity|NaN)/);
    trainer.dispose();
  });

  test('train() reports a diverged result, unevaluated, rather than NaN metrics as a result', async () => {
    const result = await train({ config: exploding, data: await smallMnist() });
    expect(result.diverged).toEqual({
      step: 2,
      quantity: 'loss',
      message: 'diverged at step 2: the loss is NaN',
    });
    expect(result.stopped).toBe(false);
    expect(result.steps).toBe(1);
    expect(result.testCount).toBe(0);
    expect(result.testAccuracy).toBeNaN();
    const fine = await train({ config: { ...exploding, learningRate: 0.003 }, data: await smallMnist() });
    expect(fine.diverged).toBeUndefined();
    expect(fine.testAccuracy).toBeGreaterThan(0);
  });

  test('weights that go non-finite in the last step are caught after it', async () => {
    const result = await train({ config: { ...exploding, steps: 1 }, data: await smallMnist() });
    expect(result.diverged).toMatchObject({ step: 1, quantity: 'weights' });
    expect(result.diverged!.message).toMatch(/^diverged at step 1: weight '[\w.]+' is (-?Infinity|NaN)$/);
    expect(result.testCount).toBe(0);
  });

  test('bad non-finite options are refused before any work', async () => {
    const data = await smallMnist();
    for (const onNonFinite of [{ policy: 'ignore' }, { policy: 'skip', maxConsecutive: 0 }]) {
      expect(() => Trainer.create({ config: exploding, data, onNonFinite: onNonFinite as never })).toThrow(
        TrainerError,
      );
    }
  });
});

describe('the skip policy', () => {
  test('skips non-finite updates, leaving weights and optimizer state as they were, then gives up', async () => {
    const trainer = Trainer.create({
      config: { ...exploding, steps: 10 },
      data: await smallMnist(),
      onNonFinite: { policy: 'skip', maxConsecutive: 3 },
    });
    const records: StepRecord[] = [];
    const error = await caught(async () => {
      for await (const r of trainer.run()) {
        records.push(r);
        if (r.step === 1) {
          // Step 1 blew the weights up; the skipped steps must leave them (and the state) alone.
          const before = trainer.model.tensors().map((t) => Array.from(t.variable.dataSync()));
          for await (const s of trainer.run({ until: 3 })) records.push(s);
          expect(trainer.model.tensors().map((t) => Array.from(t.variable.dataSync()))).toEqual(before);
          expect(trainer.optimizer.iterations).toBe(1);
        }
      }
    });
    expect(records.map((r) => [r.step, r.skipped ?? false])).toEqual([
      [1, false],
      [2, true],
      [3, true],
    ]);
    expect(error).toBeInstanceOf(DivergenceError);
    expect(error).toMatchObject({ step: 4, quantity: 'loss' });
    expect((error as Error).message).toBe(
      'diverged at step 4: the loss is NaN; 3 updates in a row skipped (the limit is 3)',
    );
    expect(trainer.skippedSteps).toBe(3);
    trainer.dispose();
  });

  test('a run that ends on skipped updates with non-finite weights is diverged, not evaluated', async () => {
    const result = await train({
      config: { ...exploding, steps: 3 },
      data: await smallMnist(),
      onNonFinite: { policy: 'skip' },
    });
    expect(result.diverged).toMatchObject({ step: 3, quantity: 'weights' });
    expect(result.skippedSteps).toBe(2);
    expect(result.testCount).toBe(0);
  });
});

describe('checkpoints of diverged runs', () => {
  test('are never written', async () => {
    const good = await goodCheckpoint();
    for (const group of ['model', 'optimizer'] as const) {
      for (const value of [Number.NaN, Number.POSITIVE_INFINITY]) {
        let error: unknown;
        try {
          encodeCheckpoint(poisoned(good, group, value));
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(CheckpointError);
        expect(error).toMatchObject({ code: 'non-finite' });
        expect((error as Error).message).toMatch(
          new RegExp(
            `^cannot write a checkpoint of a diverged run: (weight|optimizer state) '.+' holds ${value}`,
          ),
        );
      }
    }
    // The last good checkpoint on disk stays as it was.
    const path = join(dir, 'kept.ckpt');
    await saveCheckpoint(path, good);
    const bytes = await readFile(path);
    await expect(saveCheckpoint(path, poisoned(good, 'model', Number.NaN))).rejects.toThrow(CheckpointError);
    expect((await readFile(path)).equals(bytes)).toBe(true);
  });

  test('a file with NaN weights and a valid CRC is refused on load, naming the file; so is restore()', async () => {
    const good = await goodCheckpoint();
    const bytes = encodeCheckpoint(good);
    // Patch the first model value to NaN in place and fix the checksum: a well-formed file of a diverged run.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLength = view.getUint32(16, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + headerLength)));
    view.setFloat32(header.model[0].offset, Number.NaN, true);
    view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
    const path = join(dir, 'nan-weights.ckpt');
    await writeFile(path, bytes);
    const error = await caught(() => loadCheckpoint(path));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error).toMatchObject({ code: 'non-finite' });
    expect((error as Error).message).toMatch(
      /nan-weights\.ckpt: refusing a checkpoint of a diverged run: weight 'lin1\.weight' holds NaN at index 0/,
    );
    expect(() => decodeCheckpoint(bytes)).toThrow(/refusing a checkpoint of a diverged run/);

    const data = await smallMnist();
    const restored = await caught(() =>
      Trainer.restore(poisoned(good, 'optimizer', Number.NEGATIVE_INFINITY), { data }),
    );
    expect(restored).toBeInstanceOf(CheckpointError);
    expect(restored).toMatchObject({ code: 'non-finite' });
    expect((restored as Error).message).toMatch(
      /^cannot resume from a checkpoint of a diverged run: optimizer state/,
    );
  });
});
