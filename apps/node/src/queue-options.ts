// The options of the sweep queue (`sweep` and `compare` with --queue, `sweep status|collect`, `worker`) and the
// connection they describe.
import { SweepQueue } from '@gradsign/sweep-queue';
import { type Command, Option } from 'commander';
import { UsageError } from './errors.js';
import { integerAtLeast, positiveNumber } from './parse.js';

/** The queue options of `sweep`, `compare`, `sweep status|collect` and `worker`. */
export interface QueueOptions {
  /** A Redis URL, or true (`--queue` alone): GRADSIGN_REDIS_URL. */
  queue?: string | boolean;
  queuePrefix: string;
  queueTimeout: number;
}

export interface SubmitOptions extends QueueOptions {
  detach?: boolean;
  checkpointEvery: number;
}

export function addQueueConnectionOptions(cmd: Command): Command {
  return cmd
    .option(
      '--queue [redis-url]',
      'the Redis of the sweep queue: redis://[:password@]host:port[/db], rediss:// for TLS (alone: $GRADSIGN_REDIS_URL)',
    )
    .option('--queue-prefix <name>', 'key prefix in Redis, so teams can share one Redis', 'gradsign')
    .addOption(
      new Option('--queue-timeout <seconds>', 'how long to keep reconnecting to a Redis that went away')
        .argParser(positiveNumber)
        .default(30),
    );
}

/** Adds --queue, --queue-prefix, --queue-timeout, --detach and --checkpoint-every to `sweep` and `compare`. */
export function addSubmitOptions(cmd: Command): Command {
  return addQueueConnectionOptions(cmd)
    .option(
      '--detach',
      'with --queue: submit, print the sweep id and exit (collect later with gradsign sweep collect)',
    )
    .option(
      '--checkpoint-every <n>',
      'with --queue: steps between checkpoints of a run into Redis',
      integerAtLeast(1),
      100,
    );
}

/** Whether a sweep goes to the queue. */
export function isQueued(opts: Partial<SubmitOptions>): boolean {
  if (opts.detach && opts.queue === undefined) throw new UsageError('--detach needs --queue <redis-url>');
  return opts.queue !== undefined;
}

export async function connectQueue(opts: QueueOptions): Promise<SweepQueue> {
  return SweepQueue.connect(typeof opts.queue === 'string' ? opts.queue : undefined, {
    prefix: opts.queuePrefix,
    reconnectForMs: opts.queueTimeout * 1000,
  });
}
