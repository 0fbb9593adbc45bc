// Data-parallel training: the replica group's all-reduce, and ParallelTrainer against Trainer. ParallelTrainer
// starts worker threads from the built files, so it is imported from dist/ (turbo builds before testing).
import { Worker } from 'node:worker_threads';
import { Mulberry32 } from '@gradsign/datasets';
import { afterEach, describe, expect, test } from 'vitest';
import { type Checkpoint, dropoutMask, type TrainConfig, Trainer } from '../src/index.js';
import type { ParallelTrainer as ParallelTrainerType } from '../src/node.js';
import { SharedReplicaGroup } from '../src/replica-group.js';
import { smallMnist } from './data.js';
import { useBackend } from './helpers.js';

const distNode = new URL('../dist/node.js', import.meta.url).href;
const { ParallelTrainer } = (await import(distNode)) as { ParallelTrainer: typeof ParallelTrainerType };
const groupModule = new URL('../dist/replica-group.js', import.meta.url).href;
// The errors replica threads raise are dist's classes: check them (and run them) with dist's code too.
const { DivergenceError, runTrainer } = (await import(
  new URL('../dist/index.js', import.meta.url).href
)) as typeof import('../src/index.js');

/** Runs `count` threads that each all-reduce `values(index)` and post back what they got. */
async function allReduceInThreads(count: number, length: number): Promise<Float64Array[]> {
  const buffer = SharedReplicaGroup.allocate(count);
  const code = `
    const { parentPort, workerData: w } = require('node:worker_threads');
    import(w.groupModule).then(({ SharedReplicaGroup }) => {
      const group = new SharedReplicaGroup(w.buffer, w.index, w.count);
      const values = new Float64Array(w.length);
      for (let i = 0; i < w.length; i++) values[i] = (w.index + 1) * 1000 + i + 0.25 * w.index;
      group.allReduceSum(values);
      parentPort.postMessage(values);
    });`;
  return Promise.all(
    Array.from({ length: count }, (_, index) => {
      const worker = new Worker(code, {
        eval: true,
        workerData: { buffer, index, count, length, groupModule },
      });
      return new Promise<Float64Array>((resolve, reject) => {
        worker.once('message', (v: Float64Array) => {
          resolve(v);
          void worker.terminate();
        });
        worker.once('error', reject);
      });
    }),
  );
}

describe('SharedReplicaGroup', () => {
  test('every replica gets the same element-wise sums, also over several rounds of the shared slots', async () => {
    const length = (1 << 16) + 37; // one full round and a partial one
    const results = await allReduceInThreads(3, length);
    for (const i of [0, 1, 65_535, 65_536, length - 1]) {
      const expected = 1000 + i + (2000 + i + 0.25) + (3000 + i + 0.5);
      expect(results[0]![i]).toBe(expected);
    }
    expect(Buffer.from(results[1]!.buffer).equals(Buffer.from(results[0]!.buffer))).toBe(true);
    expect(Buffer.from(results[2]!.buffer).equals(Buffer.from(results[0]!.buffer))).toBe(true);
  });

  test('back-to-back all-reduces of changing lengths: no replica reads a slot another has already rewritten', async () => {
    // A replica that runs ahead writes its next round while the others may still be summing this one; the slots
    // alternate so that cannot clobber what they read. Uneven work between calls makes the replicas drift apart.
    const count = 3;
    const buffer = SharedReplicaGroup.allocate(count);
    const code = `
      const { parentPort, workerData: w } = require('node:worker_threads');
      import(w.groupModule).then(({ SharedReplicaGroup }) => {
        const group = new SharedReplicaGroup(w.buffer, w.index, w.count);
        const lengths = [1, 7, 4096, 65_536 + 3, 2, 300];
        let wrong = 0;
        for (let call = 0; call < 240; call++) {
          const values = new Float64Array(lengths[call % lengths.length]);
          for (let i = 0; i < values.length; i++) values[i] = call * 1e6 + (w.index + 1) * 1000 + (i % 997);
          let spin = 0;
          for (let k = 0; k < ((call * 7 + w.index * 13) % 5) * 20_000; k++) spin += k;
          group.allReduceSum(values);
          for (let i = 0; i < values.length; i++) {
            const expected = w.count * (call * 1e6 + (i % 997)) + (1000 * w.count * (w.count + 1)) / 2;
            if (values[i] !== expected) wrong++;
          }
          if (spin < 0) wrong = -1;
        }
        parentPort.postMessage(wrong);
      });`;
    const wrong = await Promise.all(
      Array.from({ length: count }, (_, index) => {
        const worker = new Worker(code, { eval: true, workerData: { buffer, index, count, groupModule } });
        return new Promise<number>((resolve, reject) => {
          worker.once('message', (n: number) => {
            resolve(n);
            void worker.terminate();
          });
          worker.once('error', reject);
        });
      }),
    );
    expect(wrong).toEqual([0, 0, 0]);
  });

  test('a replica waiting for the others throws once the group is aborted', async () => {
    const buffer = SharedReplicaGroup.allocate(2);
    const code = `
      const { parentPort, workerData: w } = require('node:worker_threads');
      import(w.groupModule).then(({ SharedReplicaGroup }) => {
        const group = new SharedReplicaGroup(w.buffer, 0, 2);
        try { group.allReduceSum(new Float64Array(4)); parentPort.postMessage('returned'); }
        catch (e) { parentPort.postMessage(e.name + ': ' + e.message); }
      });`;
    const worker = new Worker(code, { eval: true, workerData: { buffer, groupModule } });
    const message = new Promise((resolve) => worker.once('message', resolve));
    await new Promise((r) => setTimeout(r, 200));
    SharedReplicaGroup.abort(buffer);
    expect(await message).toMatch(/^ReplicaGroupError: another replica of this run failed/);
    await worker.terminate();
  });

  test('rejects a replica index outside the group and a buffer of another size', () => {
    const buffer = SharedReplicaGroup.allocate(2);
    expect(() => new SharedReplicaGroup(buffer, 2, 2)).toThrow(/replica index 2 is not in 0…1/);
    expect(() => new SharedReplicaGroup(buffer, 0, 3)).toThrow(/does not hold a group of 3/);
    expect(() => SharedReplicaGroup.allocate(0)).toThrow(RangeError);
  });
});

test('dropout shards: the replicas together draw the whole batch mask', () => {
  const perRow = 14 * 14 * 32;
  const whole = dropoutMask(new Mulberry32(7), perRow * 5, 0.1);
  // Replica 1 of 2 over a batch of 5 takes rows 2…4 of the same draw (see model.ts dropout()).
  const again = dropoutMask(new Mulberry32(7), perRow * 5, 0.1).subarray(perRow * 2, perRow * 5);
  expect(Array.from(again)).toEqual(Array.from(whole.subarray(perRow * 2)));
});

function maxDiff(a: Checkpoint, b: Checkpoint): { name: string; diff: number } {
  let worst = { name: '', diff: 0 };
  for (const [i, t] of a.model.entries()) {
    const u = b.model[i]!;
    expect(u.name).toBe(t.name);
    for (let j = 0; j < t.values.length; j++) {
      const diff = Math.abs(t.values[j]! - u.values[j]!);
      if (!(diff <= worst.diff)) worst = { name: t.name, diff };
    }
  }
  return worst;
}

function sameBytes(a: Checkpoint, b: Checkpoint): boolean {
  return [...a.model, ...a.optimizer].every((t, i) => {
    const u = [...b.model, ...b.optimizer][i]!;
    return t.name === u.name && Buffer.from(t.values.buffer).equals(Buffer.from(u.values.buffer));
  });
}

describe('ParallelTrainer (2 worker threads, wasm)', () => {
  let open: ParallelTrainerType[] = [];
  afterEach(() => {
    for (const t of open) t.dispose();
    open = [];
  });
  const start = async (config: Partial<TrainConfig>, workers = 2) => {
    const t = await ParallelTrainer.create({ config, data: await smallMnist(), workers, backend: 'wasm' });
    open.push(t);
    return t;
  };

  test.each([
    ['an even split', 32],
    ['an uneven split (batch 5)', 5],
  ])('one step computes the whole-batch update, %s', async (_, batchSize) => {
    await useBackend('wasm');
    const config = { optimizer: 'sgd', learningRate: 0.03, steps: 1, batchSize, seed: 3 };
    const single = Trainer.create({ config, data: await smallMnist() });
    const expectedLoss = (await single.trainStep()).loss;
    const expected = await single.checkpoint();
    single.dispose();
    const parallel = await start(config);
    const record = await parallel.trainStep();
    expect(record.loss).toBeCloseTo(expectedLoss, 5);
    const got = await parallel.checkpoint();
    // Parameters and BatchNorm running statistics (whole-batch statistics, unbiased count of the whole batch).
    expect(maxDiff(expected, got).diff).toBeLessThan(1e-5);
    expect(got.dataCursor).toEqual(expected.dataCursor);
    expect(got.rng).toEqual(expected.rng);
  });

  test('deterministic, and a checkpoint resumes bit-identically', async () => {
    const config = { optimizer: 'gradsign', steps: 4, seed: 1 };
    const straight = await start(config);
    for await (const _ of straight.run());
    // GradSign's counters, 4 per int32, in each replica (66,954 parameters in 18 variables).
    expect(straight.stateBytes()).toBe(66_956);
    const expected = await straight.checkpoint();
    const first = await start(config);
    for await (const _ of first.run({ until: 2 }));
    const halfway = await first.checkpoint();
    expect(halfway.step).toBe(2);
    const resumed = await ParallelTrainer.restore(halfway, {
      data: await smallMnist(),
      workers: 2,
      backend: 'wasm',
    });
    open.push(resumed);
    expect(resumed.step).toBe(2);
    for await (const _ of resumed.run());
    expect(resumed.done).toBe(true);
    expect(sameBytes(expected, await resumed.checkpoint())).toBe(true);
  });

  test('evaluates the same as Trainer on the same weights, sharing the images between replicas', async () => {
    await useBackend('wasm');
    const parallel = await start({ optimizer: 'adam', steps: 3, seed: 2 });
    for await (const _ of parallel.run());
    const progress: number[] = [];
    const result = await parallel.evaluate({ batchSize: 100, onProgress: (done) => progress.push(done) });
    const single = await Trainer.restore(await parallel.checkpoint(), { data: await smallMnist() });
    const expected = await single.evaluate({ batchSize: 100 });
    single.dispose();
    expect(result.count).toBe(1000);
    expect(result.correct).toBe(expected.correct);
    expect(result.loss).toBeCloseTo(expected.loss, 5);
    expect(progress).toEqual([800, 1000]);
  });

  test('bad set-ups fail with a clear error and leave no thread behind', async () => {
    const data = await smallMnist();
    await useBackend('wasm');
    const fresh = Trainer.create({ config: { steps: 1 }, data });
    const saved = await fresh.checkpoint();
    fresh.dispose();
    const bad = { ...saved, config: { ...saved.config, batchSize: 0 } };
    // Refused before any thread starts, as Trainer.restore refuses it.
    await expect(ParallelTrainer.restore(bad, { data, workers: 2, backend: 'wasm' })).rejects.toThrow(
      /^checkpoint config is not usable: .*batchSize/,
    );
    await expect(
      ParallelTrainer.create({ config: { batchSize: 2 }, data, workers: 3, backend: 'wasm' }),
    ).rejects.toThrow(/cannot split batches of 2 over 3 replicas/);
    await expect(
      ParallelTrainer.create({
        config: { modelOptions: { fused: false } },
        data,
        workers: 2,
        backend: 'wasm',
      }),
    ).rejects.toThrow(/needs its fused BatchNorm kernels/);
    await expect(ParallelTrainer.create({ config: {}, data, workers: 0, backend: 'wasm' })).rejects.toThrow(
      /workers must be a positive integer/,
    );
    await expect(
      ParallelTrainer.create({ config: { optimizer: 'nope' }, data, workers: 2, backend: 'wasm' }),
    ).rejects.toMatchObject({ name: 'TrainerError', code: 'invalid-config' });
  });

  test('a diverging run stops every replica with DivergenceError, and the result says so', async () => {
    const config = { model: 'mlp', optimizer: 'gradsign', learningRate: 1e308, steps: 5, batchSize: 16 };
    const parallel = await start(config);
    const result = await runTrainer(parallel);
    expect(result.diverged).toEqual({
      step: 2,
      quantity: 'loss',
      message: 'diverged at step 2: the loss is NaN',
    });
    expect(result.testCount).toBe(0);
    const refused = parallel.checkpoint();
    await expect(refused).rejects.toBeInstanceOf(DivergenceError);
    await expect(refused).rejects.toMatchObject({ step: 1, quantity: 'weights' });

    const skipping = await ParallelTrainer.create({
      config,
      data: await smallMnist(),
      workers: 2,
      backend: 'wasm',
      onNonFinite: { policy: 'skip', maxConsecutive: 2 },
    });
    open.push(skipping);
    const skipped = await runTrainer(skipping);
    expect(skipped.diverged).toMatchObject({ step: 3, quantity: 'loss' });
    expect(skipped.skippedSteps).toBe(2);
    expect(skipped.losses).toHaveLength(2);
  });

  test('its checkpoints keep the step history, so a resumed run reports every step', async () => {
    const config = { model: 'mlp', optimizer: 'adam', steps: 6, batchSize: 16, seed: 4 };
    const first = await start(config);
    for await (const _ of first.run({ until: 3 }));
    const halfway = await first.checkpoint();
    expect(halfway.history!.losses).toEqual(first.history().losses);
    const resumed = await ParallelTrainer.restore(halfway, {
      data: await smallMnist(),
      workers: 2,
      backend: 'wasm',
    });
    open.push(resumed);
    const result = await runTrainer(resumed, { evaluate: false });
    expect(result.losses).toHaveLength(6);
    expect(result.losses.slice(0, 3)).toEqual(halfway.history!.losses);
    expect(result.historyFrom).toBeUndefined();
  });

  test('a replica thread that dies makes the step fail instead of hanging', async () => {
    const parallel = await start({ optimizer: 'sgd', steps: 5, seed: 0 });
    await parallel.trainStep();
    const { threads } = (
      parallel as unknown as { pool: { threads: { channel: { terminate(): unknown } }[] } }
    ).pool;
    await threads[1]!.channel.terminate();
    await expect(parallel.trainStep()).rejects.toThrow(/replica thread exited|another replica/);
    await expect(parallel.trainStep()).rejects.toThrow();
  });
});
