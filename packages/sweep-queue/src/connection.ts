import { Redis } from 'ioredis';
import { SweepQueueError } from './errors.js';
import { type ConnectionTuning, type RedisTarget, redact, redisOptions } from './url.js';

function isAuthProblem(message: string): boolean {
  return /WRONGPASS|NOAUTH|invalid password|invalid username-password|AUTH failed/i.test(message);
}

/** A {@link SweepQueueError} for a failed Redis command or connection, naming host:port, never the password. */
export function connectionError(target: RedisTarget, error: unknown, during = 'connect'): SweepQueueError {
  if (error instanceof SweepQueueError) return error;
  const message = redact((error as Error)?.message ?? String(error), target);
  if (isAuthProblem(message)) {
    return new SweepQueueError(
      'auth',
      `Redis at ${target.endpoint} refused the ${target.password ? 'password' : 'connection (it needs a password: redis://:PASSWORD@host:port)'}: ${message}`,
    );
  }
  if (during === 'connect') {
    return new SweepQueueError('unreachable', `cannot reach Redis at ${target.endpoint}: ${message}`);
  }
  return new SweepQueueError(
    'gone',
    `lost the connection to Redis at ${target.endpoint} (${during}): ${message}`,
  );
}

/**
 * Opens a plain client and checks it with a PING: fails fast with 'unreachable' or 'auth' (a bounded number of
 * connection attempts), so a wrong URL never hangs. The client reconnects for `reconnectForMs` when Redis goes away
 * later, then ends.
 */
export async function openRedis(target: RedisTarget, tuning: ConnectionTuning = {}): Promise<Redis> {
  const options = redisOptions(target, tuning);
  let attempts = 0;
  const client = new Redis({
    ...options,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    // While connecting for the first time: three attempts, then give up.
    retryStrategy: (times) =>
      attempts === 0 ? (times > 2 ? null : 300 * times) : options.retryStrategy!(times),
  });
  let lastError: unknown;
  client.on('error', (error) => {
    lastError = error;
  });
  try {
    await client.connect();
    await client.ping();
    attempts = 1;
    return client;
  } catch (error) {
    client.disconnect();
    throw connectionError(target, lastError ?? error);
  }
}
