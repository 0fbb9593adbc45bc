// Bad input from a hostile or clumsy user: refused before the first step, with a message that names the user's
// input, no stack trace (unless --debug), and the documented exit code.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCheckpoint, encodeCheckpoint } from '@gradsign/trainer';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type CliResult, checkBuilt, runCli, TINY_RUN } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  checkBuilt();
  dir = await mkdtemp(join(tmpdir(), 'gradsign-hostile-'));
  await chmod(dir, 0o755); // readable by the unprivileged user of the permission tests
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const tiny = TINY_RUN;

/** Refused with `code` and `message`, before any training step, without a stack trace, nothing on stdout. */
function expectRefused(r: CliResult, code: number, message: RegExp): void {
  expect(r.stderr).toMatch(message);
  expect(r.code).toBe(code);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/\d+\/\d+ steps|step \d+\/\d+/);
  expect(r.stdout).toBe('');
}

/** A real checkpoint of a 2-step run (made once). */
let checkpointBytes: Promise<Uint8Array> | undefined;
function realCheckpoint(): Promise<Uint8Array> {
  checkpointBytes ??= (async () => {
    const file = join(dir, 'real.ckpt');
    const r = await runCli(['run', ...tiny, '--checkpoint', file, '--json']);
    expect(r.code).toBe(0);
    return readFile(file);
  })();
  return checkpointBytes;
}

describe('output paths are checked before the first step', () => {
  test('--out onto an existing file is refused and the file is left alone', async () => {
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'keep me');
    expectRefused(
      await runCli(['run', ...tiny, '--out', file]),
      2,
      /error: --out .*notes\.txt: is an existing file, not a directory/,
    );
    expect(await readFile(file, 'utf8')).toBe('keep me');
    expectRefused(
      await runCli(['compare', ...tiny, '--out', join(file, 'sub')]),
      2,
      /--out .*notes\.txt\/sub: .*notes\.txt is a file, so the directory cannot be created/,
    );
  });

  test('--out with a directory where an output file goes', async () => {
    const out = join(dir, 'blocked-out');
    await mkdir(join(out, 'steps.csv'), { recursive: true });
    expectRefused(
      await runCli(['run', ...tiny, '--out', out]),
      2,
      /--out .*blocked-out: steps\.csv in it is a directory/,
    );
  });

  test('--checkpoint into a missing directory, onto a directory, onto a file that is not a checkpoint', async () => {
    expectRefused(
      await runCli(['run', ...tiny, '--checkpoint', join(dir, 'nowhere', 'run.ckpt')]),
      2,
      /--checkpoint .*nowhere\/run\.ckpt: directory .*nowhere does not exist/,
    );
    await mkdir(join(dir, 'a-dir.ckpt'));
    expectRefused(
      await runCli(['run', ...tiny, '--checkpoint', join(dir, 'a-dir.ckpt')]),
      2,
      /--checkpoint .*a-dir\.ckpt: is a directory/,
    );
    const csv = join(dir, 'data.csv');
    await writeFile(csv, 'a,b\n1,2\n');
    expectRefused(
      await runCli(['run', ...tiny, '--checkpoint', csv]),
      2,
      /--checkpoint .*data\.csv: exists and is not a gradsign checkpoint; refusing to overwrite it/,
    );
    expect(await readFile(csv, 'utf8')).toBe('a,b\n1,2\n');
    const same = join(dir, 'same');
    expectRefused(
      await runCli(['run', ...tiny, '--checkpoint', same, '--out', same]),
      2,
      /--out .*same and --checkpoint .*same name the same path/,
    );
  });

  test('a directory the user cannot write in, for --checkpoint, --out and --resume', async () => {
    // Root ignores permission bits, so as root the CLI runs as the unprivileged user 'nobody'.
    const user = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
    const locked = join(dir, 'locked');
    await mkdir(locked);
    await writeFile(join(locked, 'old.ckpt'), await realCheckpoint());
    await chmod(join(locked, 'old.ckpt'), 0o644);
    await chmod(locked, 0o555);
    try {
      const ckpt = await runCli(['run', ...tiny, '--checkpoint', join(locked, 'run.ckpt')], { user });
      expectRefused(
        ckpt,
        2,
        /--checkpoint .*locked\/run\.ckpt: cannot write in directory .*locked \(permission denied\)/,
      );
      const out = await runCli(['run', ...tiny, '--out', join(locked, 'out')], { user });
      expectRefused(
        out,
        2,
        /--out .*locked\/out: cannot create it: cannot write in .*locked \(permission denied\)/,
      );
      const resume = await runCli(['run', '--resume', join(locked, 'old.ckpt'), '--steps', '3'], { user });
      expectRefused(resume, 2, /--resume .*old\.ckpt: cannot write in directory .*locked/);
      expect(await readdir(locked)).toEqual(['old.ckpt']);
    } finally {
      await chmod(locked, 0o755);
    }
  });

  test('no stack trace for a user error; --debug adds it', async () => {
    const file = join(dir, 'plain.txt');
    await writeFile(file, 'x');
    const plain = await runCli(['run', ...tiny, '--out', file]);
    expectRefused(plain, 2, /--out .*plain\.txt: is an existing file/);
    const debug = await runCli(['run', ...tiny, '--out', file, '--debug']);
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/^UsageError: --out .*plain\.txt: is an existing file/m);
    expect(debug.stderr).toMatch(/^\s+at .*validate-paths\.js/m);
  });
});

describe('strict numbers, quoted as typed', () => {
  test.each([
    ['--lr', '0x10'],
    ['--lr', '0b1'],
    ['--lr', '0o7'],
    ['--lr', ''],
    ['--lr', ' 1'],
    ['--lr', '1_000'],
    ['--lr', 'Infinity'],
    ['--lr', 'NaN'],
    ['--steps', '0x10'],
    ['--batch', '1_0'],
    ['--seed', '0b11'],
    ['--workers', '0x2'],
  ])('%s %j is refused', async (flag, value) => {
    const r = await runCli(['run', ...tiny, flag, value]);
    expectRefused(r, 2, new RegExp(`argument '${value}' is invalid\\. '${value}' is not`));
  });

  test('--lrs and --opt with nothing after =', async () => {
    expectRefused(
      await runCli(['sweep', ...tiny, '--optimizers', 'sgd', '--lrs', 'sgd=']),
      2,
      /'sgd=' has an empty learning rate/,
    );
    expectRefused(
      await runCli(['sweep', ...tiny, '--lrs', '0.1,,0.2']),
      2,
      /'0\.1,,0\.2' has an empty learning rate/,
    );
    expectRefused(
      await runCli(['run', ...tiny, '--optimizer', 'sgd', '--opt', 'momentum=']),
      2,
      /'momentum=' has no value after '='/,
    );
  });
});

describe('sizes are checked against the data before the first step', () => {
  test('a --train-limit or --test-limit above the split size names both numbers', async () => {
    expectRefused(
      await runCli(['run', ...tiny, '--train-limit', '99999999']),
      2,
      /--train-limit 99999999 is more than the 60000 images of the training split/,
    );
    expectRefused(
      await runCli(['compare', ...tiny, '--test-limit', '10001']),
      2,
      /--test-limit 10001 is more than the 10000 images of the test split/,
    );
  });

  test('a batch larger than the training split names both numbers', async () => {
    expectRefused(
      await runCli(['run', ...tiny, '--batch', '201']),
      2,
      /--batch 201 is larger than the training split \(200 images\)/,
    );
    expectRefused(
      await runCli(['sweep', ...tiny, '--optimizers', 'sgd', '--lrs', '0.1', '--batch', '100000']),
      2,
      /--batch 100000 is larger than the training split \(200 images\)/,
    );
  });
});

describe('resuming', () => {
  test('a checkpoint naming an unknown optimizer is a checkpoint error (exit 1) naming the file', async () => {
    const checkpoint = decodeCheckpoint(await realCheckpoint());
    const file = join(dir, 'foreign-optimizer.ckpt');
    await writeFile(
      file,
      encodeCheckpoint({ ...checkpoint, config: { ...checkpoint.config, optimizer: 'nosuchopt' } }),
    );
    expectRefused(
      await runCli(['run', '--resume', file, '--backend', 'cpu']),
      1,
      /error: .*foreign-optimizer\.ckpt: the checkpoint was written with optimizer 'nosuchopt', which is not available here: registered optimizers: gradsign/,
    );
  });

  test('a --train-limit that differs from the checkpoint is a usage error (exit 2)', async () => {
    const file = join(dir, 'limit.ckpt');
    await writeFile(file, await realCheckpoint());
    expectRefused(
      await runCli(['run', '--resume', file, '--train-limit', '300', '--steps', '3', '--backend', 'cpu']),
      2,
      /--train-limit 300 does not match the checkpoint \(200\); omit it when resuming/,
    );
  });
});
