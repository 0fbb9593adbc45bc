import type { RedisOptions } from 'ioredis';
import { SweepQueueError } from './errors.js';

/** The environment variable that gives the Redis URL when none is passed. */
export const REDIS_URL_ENV = 'GRADSIGN_REDIS_URL';

/** Where a queue lives: a parsed `redis://` or `rediss://` URL. */
export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
  /** `host:port`, for messages. */
  readonly endpoint: string;
  /** The URL with the password replaced by `***` (safe to print). */
  readonly redacted: string;
}

/**
 * Parses `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS). `url` undefined or empty reads
 * `GRADSIGN_REDIS_URL`. Throws {@link SweepQueueError} ('invalid-url') with the URL redacted.
 */
export function parseRedisUrl(url: string | undefined, env: NodeJS.ProcessEnv = process.env): RedisTarget {
  const text = url || env[REDIS_URL_ENV];
  if (!text) {
    throw new SweepQueueError(
      'invalid-url',
      `no Redis URL: pass one (redis://host:port) or set ${REDIS_URL_ENV}`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new SweepQueueError('invalid-url', `not a URL: '${redactText(text)}' (expected redis://host:port)`);
  }
  const bad = (problem: string): never => {
    throw new SweepQueueError('invalid-url', `${redactUrl(parsed)}: ${problem}`);
  };
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    bad(`unsupported scheme '${parsed.protocol}' (use redis:// or rediss:// for TLS)`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) bad('no host');
  const port = parsed.port ? Number(parsed.port) : 6379;
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!/^\d{0,2}$/.test(dbText) || !Number.isInteger(db)) bad(`database must be a number, got '${dbText}'`);
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  return {
    host,
    port,
    db,
    tls: parsed.protocol === 'rediss:',
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    endpoint: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    redacted: redactUrl(parsed),
  };
}

function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = '***';
  return copy.href.replace(/\/$/, '');
}

/** Replaces the password of every redis URL in `text` with `***`. */
export function redactText(text: string): string {
  return text.replace(/(rediss?:\/\/[^:@/\s]*:)[^@\s]*@/gi, '$1***@');
}

/** Removes `secret` (a password) and URL passwords from a message. */
export function redact(message: string, target?: Pick<RedisTarget, 'password'>): string {
  let out = redactText(message);
  if (target?.password) out = out.split(target.password).join('***');
  return out;
}

/** Connection timeouts for the Redis clients of a queue or worker. */
export interface ConnectionTuning {
  /** Milliseconds to wait for a TCP/TLS connection (default 5000). */
  readonly connectTimeoutMs?: number;
  /** How long to keep reconnecting to a Redis that went away before giving up, in ms (default 30 000). */
  readonly reconnectForMs?: number;
}

/**
 * ioredis options for `target`: bounded connect timeout and reconnects (after `reconnectForMs` of failures the
 * client ends and pending commands fail, so nothing hangs), TLS for rediss://.
 */
export function redisOptions(target: RedisTarget, tuning: ConnectionTuning = {}): RedisOptions {
  const reconnectFor = tuning.reconnectForMs ?? 30_000;
  let failingSince: number | undefined;
  return {
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: { servername: target.host } } : {}),
    connectTimeout: tuning.connectTimeoutMs ?? 5000,
    lazyConnect: false,
    retryStrategy: (times: number) => {
      if (times === 1) failingSince = Date.now();
      if (Date.now() - (failingSince ?? Date.now()) >= reconnectFor) return null;
      return Math.min(200 * times, 2000);
    },
  };
}
