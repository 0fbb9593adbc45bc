// Queued sweeps with real worker processes on a real redis-server (started here on a free loopback port).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SweepQueue } from '@gradsign/sweep-queue';
import { type RedisServer, startRedisServer } from '@gradsign/sweep-queue/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { comparable, start, withoutTiming } from './queue-helpers.js';
import { checkBuilt, runCli } from './run-cli.js';

let redis: RedisServer;
let dir: string;
beforeAll(async () => {
  checkBuilt();
  redis = await startRedisServer({ appendOnly: true });
  dir = await mkdtemp(join(tmpdir(), 'gradsign-queue-'));
});
afterAll(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

const small = ['--model', 'mlp', '--train-limit', '500', '--test-limit', '200', '--backend', 'cpu'];
const fastRecovery = ['--lock-duration', '2000', '--stalled-interval', '1000'];

async function results(out: string) {
  return JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { table: string; grid: string };
}

describe('gradsign sweep --queue with gradsign worker', () => {
  test('over 2 worker processes gives exactly the local results; submitting it again runs nothing', async () => {
    const plan = [
      'sweep',
      ...small,
      '--steps',
      '20',
      '--optimizers',
      'adam,sgd',
      '--lrs',
      '0.01',
      '--seeds',
      '2',
    ];
    const local = await runCli([...plan, '--json', '--out', join(dir, 'local')]);
    expect(local.code).toBe(0);
    const queue = [redis.url, '--queue-prefix', 'same'];
    const workers = [1, 2].map(() => start(['worker', '--queue', ...queue, '--idle-exit', '3']));
    const queued = await runCli([
      ...plan,
      '--json',
      '--queue',
      ...queue,
      '--checkpoint-every',
      '5',
      '--out',
      join(dir, 'q'),
    ]);
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stderr).toMatch(/submitted sweep-[0-9a-f]{16} .*4 runs, 4 queued now, 0 finished already/);
    expect(comparable(queued.stdout)).toEqual(comparable(local.stdout));
    expect(comparable(queued.stdout).filter((l) => l.type === 'run')).toHaveLength(4);
    const [a, b] = [await results(join(dir, 'local')), await results(join(dir, 'q'))];
    expect(withoutTiming(b.table)).toBe(withoutTiming(a.table));
    expect(b.grid).toBe(a.grid);
    const lines = (await Promise.all(workers.map((w) => w.exited.then(() => w.stdout())))).join('');
    expect(lines.match(/^started /gm)).toHaveLength(4);
    expect(lines.match(/^finished /gm)).toHaveLength(4);
    expect(lines).not.toMatch(/already recorded/);

    const again = start(['worker', '--queue', ...queue, '--idle-exit', '2']);
    const resubmitted = await runCli([...plan, '--json', '--queue', ...queue]);
    expect(resubmitted.code).toBe(0);
    expect(resubmitted.stderr).toMatch(/4 runs, 0 queued now, 4 finished already/);
    expect(comparable(resubmitted.stdout)).toEqual(comparable(local.stdout));
    await again.exited;
    expect(again.stdout()).not.toMatch(/started/);
  });

  test('a worker killed with SIGKILL mid-run and one stopped with SIGTERM: others resume from their checkpoints, same result; --detach then collect', async () => {
    const plan = [
      'sweep',
      ...small,
      '--steps',
      '80',
      '--optimizers',
      'adam',
      '--lrs',
      '0.003',
      '--seeds',
      '1',
    ];
    const queue = [redis.url, '--queue-prefix', 'killed'];
    const detached = await runCli([...plan, '--queue', ...queue, '--checkpoint-every', '5', '--detach']);
    expect(detached.code, detached.stderr).toBe(0);
    const id = detached.stdout.trim();
    expect(id).toMatch(/^sweep-[0-9a-f]{16}$/);

    const client = await SweepQueue.connect(redis.url, { prefix: 'killed' });
    try {
      const first = start(['worker', '--queue', ...queue, ...fastRecovery]);
      await first.waitFor(/^started /m);
      // Kill it right after its first checkpoint reached Redis.
      let step = 0;
      while (step === 0) {
        step = (await client.status(id)).runs[0]!.checkpointStep;
        await new Promise((r) => setTimeout(r, 10));
      }
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      expect(first.stdout()).not.toMatch(/finished/);
      const status = await runCli(['sweep', 'status', '--queue', ...queue, id]);
      expect(status.stdout).toMatch(/1 runs: 0 done, (1 running|0 running, 1 queued)/);
      expect(status.stdout).toMatch(/checkpoint at step \d+\/80/);

      // A second worker resumes it from that checkpoint; SIGTERM makes it checkpoint, requeue and exit cleanly.
      const second = start(['worker', '--queue', ...queue, ...fastRecovery]);
      await second.waitFor(/resumed at step \d+/);
      const resumedAt = Number(/resumed at step (\d+)/.exec(second.stdout())?.[1]);
      expect(resumedAt).toBeGreaterThanOrEqual(step);
      expect(resumedAt % 5).toBe(0);
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
      const requeuedAt = Number(/requeued .* at step (\d+)/.exec(second.stdout())?.[1]);
      expect(requeuedAt).toBeGreaterThanOrEqual(resumedAt);

      const third = start(['worker', '--queue', ...queue, ...fastRecovery, '--max-runs', '1']);
      await third.exited;
      expect(third.stdout()).toMatch(new RegExp(`resumed at step ${requeuedAt}\\b`));
      expect(third.stdout()).toMatch(/^finished .*test accuracy/m);
      expect(third.stdout()).not.toMatch(/already recorded/);
    } finally {
      await client.close();
    }
    const collected = await runCli(['sweep', 'collect', '--queue', ...queue, '--json', id]);
    expect(collected.code, collected.stderr).toBe(0);
    const local = await runCli([...plan, '--json']);
    expect(comparable(collected.stdout)).toEqual(comparable(local.stdout));
    const run = comparable(collected.stdout)[0]!;
    expect(run).toMatchObject({ type: 'run', steps: 80, stopped: false });
  });
});

describe('queue errors', () => {
  test('a wrong password, an unreachable host, an unknown sweep and a Redis that goes away: clear errors, no hang', async () => {
    const locked = await startRedisServer({ password: 'correct-horse' });
    const plan = ['sweep', ...small, '--steps', '5', '--optimizers', 'sgd', '--lrs', '0.01'];
    try {
      const wrong = `redis://:battery-staple@127.0.0.1:${locked.port}`;
      const submit = await runCli([...plan, '--queue', wrong]);
      expect(submit.code).toBe(1);
      expect(submit.stderr).toMatch(
        new RegExp(`error: Redis at 127.0.0.1:${locked.port} refused the password`),
      );
      const worker = start(['worker', '--queue'], { GRADSIGN_REDIS_URL: wrong });
      expect((await worker.exited).code).toBe(1);
      expect(worker.stderr()).toMatch(/refused the password/);
      for (const output of [submit.stdout, submit.stderr, worker.stdout(), worker.stderr()]) {
        expect(output).not.toContain('battery-staple');
      }
      const unknown = await runCli(['sweep', 'status', '--queue', locked.url, 'sweep-0123456789abcdef']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(
        /no sweep sweep-0123456789abcdef in Redis at 127.0.0.1:\d+ under prefix 'gradsign'/,
      );

      // Redis goes away while a sweep waits for its runs (no worker here): it gives up after --queue-timeout.
      const waiting = start([...plan, '--queue', locked.url, '--queue-timeout', '2']);
      await waiting.waitFor(/submitted sweep-/);
      await locked.stop();
      const { code } = await waiting.exited;
      expect(code).toBe(1);
      expect(waiting.stderr()).toMatch(
        new RegExp(`lost the connection to Redis at 127.0.0.1:${locked.port}`),
      );
      expect(waiting.stderr()).not.toContain('correct-horse');
    } finally {
      await locked.stop();
    }
    const unreachable = await runCli([...plan, '--queue', `redis://127.0.0.1:${locked.port}`]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(
      new RegExp(`error: cannot reach Redis at 127.0.0.1:${locked.port}: .*ECONNREFUSED`),
    );
  });
});
