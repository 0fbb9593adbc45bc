import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseRedisUrl, REDIS_URL_ENV, redact, SweepQueueError } from '../src/index.js';

describe('Redis URLs', () => {
  test('take the password, TLS and database from the URL, and print it redacted', () => {
    const t = parseRedisUrl('rediss://team:s3cr%40t@redis.example:6380/2');
    expect(t).toMatchObject({
      host: 'redis.example',
      port: 6380,
      db: 2,
      tls: true,
      username: 'team',
      password: 's3cr@t',
    });
    expect(t.endpoint).toBe('redis.example:6380');
    expect(t.redacted).toBe('rediss://team:***@redis.example:6380/2');
    expect(parseRedisUrl('redis://localhost')).toMatchObject({ port: 6379, db: 0, tls: false });
  });

  test(`fall back to ${REDIS_URL_ENV}, and refuse what is not a redis URL without echoing a password`, () => {
    expect(parseRedisUrl(undefined, { [REDIS_URL_ENV]: 'redis://h:1' }).endpoint).toBe('h:1');
    expect(() => parseRedisUrl(undefined, {})).toThrow(/no Redis URL.*GRADSIGN_REDIS_URL/);
    const error = (() => {
      try {
        parseRedisUrl('http://:hunter2@h:1');
      } catch (e) {
        return e as SweepQueueError;
      }
    })();
    expect(error).toBeInstanceOf(SweepQueueError);
    expect(error!.code).toBe('invalid-url');
    expect(error!.message).toMatch(/unsupported scheme 'http:'/);
    expect(error!.message).not.toContain('hunter2');
  });

  test('redaction removes any password from any message', () => {
    const password = fc
      .string({ minLength: 4, maxLength: 20 })
      .filter((s) => /^[A-Za-z0-9!$&*+,;=~-]+$/.test(s));
    fc.assert(
      fc.property(password, fc.string(), fc.string(), (pw, before, after) => {
        const url = `redis://:${pw}@host:1/0`;
        const text = redact(`${before}${url}${after} (${pw})`, { password: pw });
        expect(text).not.toContain(pw);
      }),
    );
  });
});
