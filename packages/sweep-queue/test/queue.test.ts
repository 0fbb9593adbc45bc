import { selectBackend } from '@gradsign/backends';
import { runTrainer, Trainer } from '@gradsign/trainer';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  defaultHooks,
  QUEUE_NAME,
  RunElsewhereError,
  runId,
  SweepQueue,
  SweepQueueError,
  startSweepWorker,
  type WorkerEvent,
} from '../src/index.js';
import { type RedisServer, startRedisServer } from '../src/testing.js';
import { payload } from './fixtures.js';

let redis: RedisServer;
beforeAll(async () => {
  await selectBackend(['cpu'], { onLog: () => {} });
  redis = await startRedisServer({ appendOnly: true });
});
afterAll(() => redis?.stop());

const plan = [
  payload({ config: { ...payload().config, seed: 0 } }),
  payload({ config: { ...payload().config, seed: 1 } }),
];

async function work(url: string, prefix: string, maxRuns: number): Promise<WorkerEvent[]> {
  const events: WorkerEvent[] = [];
  const worker = await startSweepWorker({
    url,
    prefix,
    maxRuns,
    idleExitSeconds: 3,
    onEvent: (e) => events.push(e),
  });
  await worker.stopped;
  return events;
}

describe('the sweep queue on a real redis-server', () => {
  test('a submitted plan is trained by a worker, identical to a local run; submitting it again adds nothing', async () => {
    const queue = await SweepQueue.connect(redis.url, { prefix: 'lib1' });
    try {
      const first = await queue.submit('sweep', plan);
      expect(first).toMatchObject({ total: 2, added: 2, finished: 0 });
      expect(await queue.submit('sweep', plan)).toMatchObject({ id: first.id, added: 0, pending: 2 });
      const events = await work(redis.url, 'lib1', 2);
      expect(events.filter((e) => e.type === 'started')).toHaveLength(2);
      const status = await queue.status(first.id);
      expect(status).toMatchObject({ total: 2, done: 2, queued: 0, running: 0, failed: 0 });
      const { results } = await queue.results(first.id);
      const data = await defaultHooks.loadData(plan[0]!);
      const trainer = Trainer.create({ config: plan[1]!.config, data });
      const local = await runTrainer(trainer, { evalBatchSize: 250 });
      trainer.dispose();
      const queued = results[1]!.result;
      expect(queued.losses).toEqual(local.losses);
      expect(queued.testAccuracy).toBe(local.testAccuracy);
      expect(queued.testLoss).toBe(local.testLoss);
      expect(results[1]!.records.map((r) => r.step)).toEqual(local.losses.map((_, i) => i + 1));
      // Submitted again (by anyone): nothing is added, and a worker finds nothing to do.
      expect(await queue.submit('sweep', plan)).toMatchObject({ id: first.id, added: 0, finished: 2 });
      expect((await work(redis.url, 'lib1', 1)).length).toBe(0);
    } finally {
      await queue.close();
    }
  });

  test('a run delivered twice is trained once and recorded once', async () => {
    const queue = await SweepQueue.connect(redis.url, { prefix: 'lib2' });
    const jobs = new Queue(QUEUE_NAME, {
      connection: { host: '127.0.0.1', port: redis.port },
      prefix: 'lib2',
    });
    try {
      const { id } = await queue.submit('sweep', [plan[0]!]);
      await work(redis.url, 'lib2', 1);
      const recorded = (await queue.results(id)).results[0]!;
      // The same job delivered again (as after a lost lock): its result is reused, not trained or recorded again.
      const run = runId(plan[0]!);
      await jobs.remove(run);
      await jobs.add('run', plan[0]!, { jobId: run });
      const events = await work(redis.url, 'lib2', 1);
      expect(events.map((e) => e.type)).toEqual(['finished']);
      expect(events[0]).toMatchObject({ recorded: false });
      expect((await queue.results(id)).results[0]).toEqual(recorded);
      expect(await queue.store.recordResult({ ...recorded, worker: 'elsewhere:1' })).toBe(false);
      expect((await queue.store.result(run))!.worker).toBe(recorded.worker);
    } finally {
      await jobs.close();
      await queue.close();
    }
  });

  test('a run a worker cannot take goes back to the queue, without using up an attempt, for another worker', async () => {
    const queue = await SweepQueue.connect(redis.url, { prefix: 'lib4' });
    try {
      const { id } = await queue.submit('sweep', [plan[0]!]);
      const picky = await startSweepWorker({
        url: redis.url,
        prefix: 'lib4',
        maxRuns: 1,
        hooks: {
          prepare: async () => {
            throw new RunElsewhereError('this worker trains with --workers 2; the run needs 1');
          },
        },
      });
      expect(await picky.stopped).toBe('max-runs');
      const job = await queue.queue.getJob(runId(plan[0]!));
      expect(await job!.getState()).toBe('delayed');
      expect(job!.attemptsMade).toBe(0);
      expect((await queue.status(id)).queued).toBe(1);
      const events = await work(redis.url, 'lib4', 1);
      expect(events.map((e) => e.type)).toEqual(['started', 'finished']);
      expect(await queue.status(id)).toMatchObject({ done: 1, failed: 0 });
    } finally {
      await queue.close();
    }
  });

  test('a malformed or tampered job is failed with a clear error and never trained', async () => {
    const queue = await SweepQueue.connect(redis.url, { prefix: 'lib3' });
    const jobs = new Queue(QUEUE_NAME, {
      connection: { host: '127.0.0.1', port: redis.port },
      prefix: 'lib3',
    });
    try {
      const { id } = await queue.submit('sweep', [plan[0]!]);
      const run = runId(plan[0]!);
      // Swap the queued job's payload for a hostile one under the same id.
      await jobs.remove(run);
      await jobs.add(
        'run',
        { ...plan[0]!, config: { ...plan[0]!.config, optimizer: '../evil' } },
        { jobId: run },
      );
      const tampered = await jobs.add('run', { ...plan[1]! }, { jobId: 'run-0000' });
      const events = await work(redis.url, 'lib3', 2);
      expect(events.filter((e) => e.type === 'started')).toHaveLength(0);
      const failures = events.filter((e) => e.type === 'failed');
      expect(failures.map((e) => e.type === 'failed' && e.final)).toEqual([true, true]);
      const status = await queue.status(id);
      expect(status).toMatchObject({ failed: 1, done: 0 });
      expect(status.runs[0]!.error).toMatch(
        /malformed job payload: config.optimizer must be a lower-case name/,
      );
      expect((await jobs.getJob(tampered.id!))!.failedReason).toMatch(
        /job id run-0000 does not match its payload/,
      );
      // Submitting the sweep again retries its failed run (which a worker would refuse again).
      expect(await queue.submit('sweep', [plan[0]!])).toMatchObject({ added: 1, finished: 0 });
      expect(await queue.status(id)).toMatchObject({ failed: 0, queued: 1 });
    } finally {
      await jobs.close();
      await queue.close();
    }
  });

  test('a wrong password and an unreachable host fail fast with host:port, never the password', async () => {
    const locked = await startRedisServer({ password: 'right-horse' });
    try {
      const wrong = `redis://:battery-staple@127.0.0.1:${locked.port}`;
      const error = await SweepQueue.connect(wrong).catch((e: unknown) => e as SweepQueueError);
      expect(error).toBeInstanceOf(SweepQueueError);
      expect((error as SweepQueueError).code).toBe('auth');
      expect((error as Error).message).toContain(`127.0.0.1:${locked.port}`);
      expect((error as Error).message).not.toContain('battery-staple');
      const none = await SweepQueue.connect(`redis://127.0.0.1:${locked.port}`).catch(
        (e: unknown) => e as Error,
      );
      expect((none as SweepQueueError).code).toBe('auth');
      const ok = await SweepQueue.connect(locked.url);
      await ok.close();
    } finally {
      await locked.stop();
    }
    const gone = await SweepQueue.connect(`redis://127.0.0.1:${locked.port}`).catch(
      (e: unknown) => e as Error,
    );
    expect((gone as SweepQueueError).code).toBe('unreachable');
    expect((gone as Error).message).toMatch(
      new RegExp(`cannot reach Redis at 127.0.0.1:${locked.port}: .*ECONNREFUSED`),
    );
  });

  test('finished results survive a restart of Redis with AOF persistence', async () => {
    const queue = await SweepQueue.connect(redis.url, { prefix: 'lib1' });
    const { id } = await queue.submit('sweep', plan);
    const before = (await queue.results(id)).results;
    await queue.close();
    expect(before.every((r) => r !== null)).toBe(true);
    const { port, dir } = redis;
    await redis.stop({ keepDir: true });
    redis = await startRedisServer({ appendOnly: true, port, dir });
    const again = await SweepQueue.connect(redis.url, { prefix: 'lib1' });
    try {
      expect((await again.results(id)).results).toEqual(before);
      expect(await again.status(id)).toMatchObject({ done: 2 });
    } finally {
      await again.close();
    }
  });
});
