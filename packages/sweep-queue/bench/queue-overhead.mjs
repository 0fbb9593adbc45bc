// Queue overhead per run against a local sweep, throughput with 1 and 2 worker processes, and the Redis traffic
// of a run (commands and bytes, from INFO), with what that means for how many workers one Redis serves.
//
//   node bench/queue-overhead.mjs [--quick]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@gradsign/backends';
import { loadMnist, subset } from '@gradsign/datasets';
import { encodeCheckpoint, resolveConfig, sweep, Trainer } from '@gradsign/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { Redis } from 'ioredis';
import { SweepQueue } from '../dist/index.js';
import { startRedisServer } from '../dist/testing.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 2 : 8;
const STEPS = quick ? 10 : 100;
const CHECKPOINT_EVERY = quick ? 5 : 20;
const LIMITS = { train: 2000, test: 500 };
tf.env().set('PROD', true);
await selectBackend(['cpu'], { onLog: () => {} });
const mnist = await loadMnist();
const data = { train: subset(mnist.train, LIMITS.train), test: subset(mnist.test, LIMITS.test) };
const base = { model: 'mlp', steps: STEPS, batchSize: 32 };
const seeds = Array.from({ length: RUNS }, (_, i) => i);

const payloads = (seedOffset) =>
  seeds.map((seed) => ({
    v: 1,
    config: resolveConfig({ ...base, optimizer: 'adam', learningRate: 0.003, seed: seed + seedOffset }),
    backend: 'cpu',
    workers: 1,
    trainLimit: LIMITS.train,
    testLimit: LIMITS.test,
    evalBatch: 250,
    checkpointEvery: CHECKPOINT_EVERY,
  }));

// Local: the trainer's own sweep, in this process.
const started = performance.now();
for await (const _ of sweep({ optimizers: ['adam'], learningRates: [0.003], seeds, base, data })) {
}
const localSeconds = (performance.now() - started) / 1000;

const redis = await startRedisServer();
const info = async () => {
  const client = new Redis(redis.url);
  const text = await client.info('stats');
  client.disconnect();
  const field = (name) => Number(new RegExp(`${name}:(\\d+)`).exec(text)[1]);
  return {
    commands: field('total_commands_processed'),
    bytesIn: field('total_net_input_bytes'),
    bytesOut: field('total_net_output_bytes'),
  };
};

async function queued(workers, seedOffset) {
  const prefix = `bench${workers}`;
  const procs = Array.from({ length: workers }, () =>
    spawn(
      process.execPath,
      [fileURLToPath(new URL('./worker-process.mjs', import.meta.url)), redis.url, prefix],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ),
  );
  // Each worker exits 5 s after the queue runs dry, which may come before the runs' results are read here: listen
  // for the exits from the start.
  const exited = Promise.all(procs.map((p) => new Promise((resolve) => p.once('exit', resolve))));
  // Workers start (tfjs, data) before the clock does: the overhead measured is the queue's, not process start-up.
  await Promise.all(
    procs.map(
      (p) =>
        new Promise((resolve, reject) => {
          p.stdout.once('data', resolve);
          p.once('exit', (code) =>
            reject(new Error(`a worker process exited (code ${code}) before it was ready`)),
          );
        }),
    ),
  );
  const queue = await SweepQueue.connect(redis.url, { prefix });
  const before = await info();
  const start = performance.now();
  const { status } = await queue.run('sweep', payloads(seedOffset), {});
  const seconds = (performance.now() - start) / 1000;
  const after = await info();
  await queue.close();
  await exited;
  if (status.done !== RUNS) throw new Error(`only ${status.done} of ${RUNS} runs finished`);
  return {
    seconds,
    commands: (after.commands - before.commands) / RUNS,
    bytes: (after.bytesIn + after.bytesOut - before.bytesIn - before.bytesOut) / RUNS,
  };
}

let one;
let two;
try {
  one = await queued(1, 0);
  two = await queued(2, 1000);
} finally {
  await redis.stop();
}

const cnn = Trainer.create({ config: { model: 'blog-cnn', optimizer: 'adam', steps: 1000 }, data });
const cnnCheckpointBytes = encodeCheckpoint(await cnn.checkpoint()).length;
cnn.dispose();

const f = (x, d = 2) => x.toFixed(d);
const perRunLocal = localSeconds / RUNS;
console.log(`${RUNS} runs of the MLP (Adam, ${STEPS} steps of 32, ${LIMITS.train} training / ${LIMITS.test} test images, cpu), checkpoint every ${CHECKPOINT_EVERY} steps into Redis; one redis-server on loopback.

| Setup | Wall time | Per run | Runs per minute |
|-------|-----------|---------|-----------------|
| local \`sweep\` (one process) | ${f(localSeconds)} s | ${f(perRunLocal, 3)} s | ${f((60 * RUNS) / localSeconds, 1)} |
| queue, 1 worker process | ${f(one.seconds)} s | ${f(one.seconds / RUNS, 3)} s | ${f((60 * RUNS) / one.seconds, 1)} |
| queue, 2 worker processes | ${f(two.seconds)} s | ${f(two.seconds / RUNS, 3)} s | ${f((60 * RUNS) / two.seconds, 1)} |

Queue overhead per run (1 worker against local): ${f(one.seconds / RUNS - perRunLocal, 3)} s (${f((100 * (one.seconds - localSeconds)) / localSeconds, 1)} %).
2 workers against 1 on this machine: ${f(one.seconds / two.seconds)}x throughput.

Redis traffic per run (INFO stats: every client's commands, with ${STEPS / CHECKPOINT_EVERY - 1} checkpoint(s) of this MLP per run and the
submitter polling once a second): ${f(one.commands, 0)} commands and ${f(one.bytes / 1024, 1)} KiB per run with 1 worker,
${f(two.commands, 0)} commands and ${f(two.bytes / 1024, 1)} KiB with 2.

On paper: one Redis core serves about 50,000 such small commands a second and a LAN carries about 100 MB/s. A
reference run (blog-cnn, Adam, 1000 steps, about 30 s) checkpoints every 100 steps: 9 checkpoints of
${f(cnnCheckpointBytes / 1024, 0)} KiB, with about ${f(one.commands, 0)} commands. Per worker that is ${f(one.commands / 30, 1)} commands/s and
${f((9 * cnnCheckpointBytes) / 30 / 1024, 0)} KiB/s, so one Redis serves about ${f(Math.min(50_000 / (one.commands / 30), 100e6 / ((9 * cnnCheckpointBytes) / 30)), 0)} workers, bound by checkpoint bandwidth
(--checkpoint-every 500: about five times as many).`);
