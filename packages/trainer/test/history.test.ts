// A resumed run reports the same run: the checkpoint keeps every step's loss, time and epoch.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type Checkpoint,
  CheckpointError,
  crc32,
  decodeCheckpoint,
  encodeCheckpoint,
  historyRecords,
  runTrainer,
  type TrainConfig,
  Trainer,
} from '../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/node.js';
import { smallMnist } from './data.js';
import { useBackend } from './helpers.js';

let dir: string;
beforeAll(async () => {
  await useBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'gradsign-history-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const config: Partial<TrainConfig> = {
  model: 'mlp',
  optimizer: 'gradsign',
  steps: 40,
  batchSize: 16,
  seed: 3,
};

/** Trains 20 of the 40 steps and returns the checkpoint file written then. */
async function firstHalf(name: string): Promise<{ path: string; checkpoint: Checkpoint }> {
  const data = await smallMnist();
  const trainer = Trainer.create({ config, data });
  for await (const _ of trainer.run({ until: 20 })) {
    // drain
  }
  const path = join(dir, name);
  await saveCheckpoint(path, await trainer.checkpoint());
  trainer.dispose();
  return { path, checkpoint: await loadCheckpoint(path) };
}

describe('resume', () => {
  test('20 + 20 steps report the losses and finalTrainLoss of 40 uninterrupted steps', async () => {
    const data = await smallMnist();
    const straight = Trainer.create({ config, data });
    const expected = await runTrainer(straight, { evaluate: false });
    straight.dispose();

    const { path, checkpoint } = await firstHalf('half.ckpt');
    expect(checkpoint.history!.from).toBe(0);
    expect(checkpoint.history!.losses).toEqual(expected.losses.slice(0, 20));
    const resumed = await Trainer.restore(await loadCheckpoint(path), { data });
    const actual = await runTrainer(resumed, { evaluate: false });

    expect(actual.losses).toHaveLength(40);
    expect(actual.losses).toEqual(expected.losses);
    expect(actual.finalTrainLoss).toBe(expected.finalTrainLoss);
    expect(actual.historyFrom).toBeUndefined();
    // The times before the resume are the ones the first process measured.
    const history = resumed.history();
    expect(history.msPerStep.slice(0, 20)).toEqual(checkpoint.history!.msPerStep);
    expect(history.epochs).toEqual(straight.history().epochs);
    const records = historyRecords(history, resumed.config);
    expect(records.map((r) => r.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(records.map((r) => r.loss)).toEqual(expected.losses);
    resumed.dispose();
  });

  test('a checkpoint without a history (as written before) still resumes, and the result says where it starts', async () => {
    const data = await smallMnist();
    const { checkpoint } = await firstHalf('old.ckpt');
    const { history: _dropped, ...old } = checkpoint;
    const decoded = decodeCheckpoint(encodeCheckpoint(old));
    expect(decoded.history).toBeUndefined();
    const resumed = await Trainer.restore(decoded, { data });
    const result = await runTrainer(resumed, { evaluate: false });
    resumed.dispose();
    expect(result.historyFrom).toBe(20);
    expect(result.losses).toHaveLength(20);
    expect(Number.isFinite(result.finalTrainLoss)).toBe(true);
  });
});

describe('the history block of the file', () => {
  const base = async (): Promise<Checkpoint> => (await firstHalf('base.ckpt')).checkpoint;

  test('round-trips exactly, NaN losses of skipped steps included', async () => {
    const ckpt = await base();
    const losses = [...ckpt.history!.losses];
    losses[4] = Number.NaN;
    losses[5] = Number.POSITIVE_INFINITY;
    const withGaps = { ...ckpt, history: { ...ckpt.history!, losses } };
    const back = decodeCheckpoint(encodeCheckpoint(withGaps));
    expect(back.history).toEqual(withGaps.history);
    expect(back.step).toBe(20);
  });

  test('a history that does not end at the checkpoint step is refused', async () => {
    const ckpt = await base();
    const h = ckpt.history!;
    const short = {
      ...h,
      losses: h.losses.slice(1),
      msPerStep: h.msPerStep.slice(1),
      epochs: h.epochs.slice(1),
    };
    expect(() => encodeCheckpoint({ ...ckpt, history: short })).toThrow(
      /step history from step 0 with 19 steps does not end at step 20/,
    );
    // A well-formed file whose header's history does not fit its step, or lies outside the file.
    const bytes = encodeCheckpoint(ckpt);
    const patch = (from: string, to: string) => {
      const copy = bytes.slice();
      const text = new TextDecoder().decode(
        copy.subarray(20, 20 + new DataView(copy.buffer).getUint32(16, true)),
      );
      expect(text).toContain(from);
      copy.set(new TextEncoder().encode(text.replace(from, to)), 20);
      new DataView(copy.buffer).setUint32(copy.length - 4, crc32(copy.subarray(0, copy.length - 4)), true);
      return copy;
    };
    for (const [from, to, message] of [
      [
        '"history":{"from":0',
        '"history":{"from":1',
        /step history from step 1 with 20 steps does not end at step 20/,
      ],
      ['"count":20', '"count":99', /the step history lies outside the payload/],
    ] as const) {
      let error: unknown;
      try {
        decodeCheckpoint(patch(from, to), 'h.ckpt');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error).toMatchObject({ code: 'corrupt' });
      expect((error as Error).message).toMatch(message);
    }
  });
});
