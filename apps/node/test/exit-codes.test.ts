// Every promise the README makes about exit codes, one test each, against the real CLI.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '@gradsign/trainer/node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as errors from '../src/errors.js';
import { checkBuilt, runCli, TINY_RUN } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  checkBuilt();
  dir = await mkdtemp(join(tmpdir(), 'gradsign-exit-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const tiny = TINY_RUN;

test('the README documents exactly the exit codes the CLI defines', async () => {
  const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const section = readme.slice(readme.indexOf('**Exit codes**'));
  const documented = [...section.matchAll(/^- (\d+): /gm)].map((m) => Number(m[1]));
  const defined = Object.entries(errors)
    .filter(([name]) => name.startsWith('EXIT_'))
    .map(([, code]) => code as number);
  expect(documented).toEqual([...defined].sort((a, b) => a - b));
});

test('0: success', async () => {
  const r = await runCli(['run', ...tiny, '--json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ type: 'run', steps: 2 });
});

describe('1: a runtime failure, with a message', () => {
  test.each([
    [
      'an unreadable checkpoint',
      ['--resume', 'no-such.ckpt'],
      /no-such\.ckpt: cannot read checkpoint: no such file/,
    ],
    ['a foreign checkpoint', ['--resume', 'foreign.ckpt'], /foreign\.ckpt: not a gradsign checkpoint/],
    ['a truncated checkpoint', ['--resume', 'truncated.ckpt'], /truncated\.ckpt: checkpoint is truncated/],
    [
      'an explicit --backend that cannot run here',
      ['--backend', 'tensorflow'],
      /--backend tensorflow cannot run/,
    ],
    ['missing data', ['--data-dir', '.'], /missing MNIST file/],
  ])('%s', async (_, args, message) => {
    await writeFile(join(dir, 'foreign.ckpt'), 'hello, world');
    await writeFile(
      join(dir, 'truncated.ckpt'),
      Uint8Array.from([0x89, 0x47, 0x53, 0x43, 0x4b, 0x50, 0x54, 0x0a, 1]),
    );
    const resolved = args.map((a) => (a.endsWith('.ckpt') || a === '.' ? join(dir, a) : a));
    const r = await runCli(['run', ...tiny, ...resolved]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('2: a usage error, found before any work', () => {
  test.each([
    ['an unknown flag', ['--frobnicate'], /unknown option '--frobnicate'/],
    ['an unknown optimizer', ['--optimizer', 'nosuchopt'], /unknown optimizer 'nosuchopt'/],
    ['an unknown model', ['--model', 'resnet'], /Allowed choices are blog-cnn, mlp/],
    ['a malformed number', ['--lr', '0x10'], /'0x10' is not a positive number/],
    ['an unusable output path', ['--checkpoint', 'missing/run.ckpt'], /directory .*missing does not exist/],
    ['a --batch larger than the data', ['--batch', '201'], /--batch 201 is larger than the training split/],
    [
      'a --train-limit larger than the data',
      ['--train-limit', '60001'],
      /60001 is more than the 60000 images/,
    ],
  ])('%s', async (_, args, message) => {
    const resolved = args.map((a) => (a.startsWith('missing/') ? join(dir, a) : a));
    const r = await runCli(['run', ...tiny, ...resolved]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/step \d+\/\d+/);
  });

  test('an unknown command', async () => {
    const r = await runCli(['train']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'train'/);
  });

  test('conflicting resume flags', async () => {
    const ckpt = join(dir, 'resume.ckpt');
    expect((await runCli(['run', ...tiny, '--checkpoint', ckpt, '--json'])).code).toBe(0);
    for (const [flag, value] of [
      ['--lr', '0.1'],
      ['--batch', '16'],
      ['--train-limit', '300'],
    ]) {
      const r = await runCli(['run', '--resume', ckpt, flag!, value!, '--backend', 'cpu']);
      expect(r.stderr).toMatch(new RegExp(`${flag} ${value} does not match the checkpoint`));
      expect(r.code).toBe(2);
    }
  });
});

describe('130: stopped by Ctrl-C or SIGTERM, the checkpoint saved first', () => {
  const long = ['run', ...tiny, '--steps', '100000', '--checkpoint-every', '1000000'];

  test('SIGTERM', async () => {
    const ckpt = join(dir, 'term.ckpt');
    let sent = false;
    const r = await runCli([...long, '--checkpoint', ckpt], {
      onStderr: (text, child) => {
        if (!sent && /0\/100000 steps/.test(text)) {
          sent = true;
          setTimeout(() => child.kill('SIGTERM'), 700);
        }
      },
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/stopped at step \d+\/100000; continue with: gradsign run --resume /);
    expect((await loadCheckpoint(ckpt)).step).toBeGreaterThan(0);
  });

  test('a second Ctrl-C: still 130, and the last checkpoint is intact', async () => {
    const ckpt = join(dir, 'twice.ckpt');
    expect((await runCli(['run', ...tiny, '--checkpoint', ckpt, '--json'])).code).toBe(0);
    let sent = 0;
    const resume = [
      'run',
      '--resume',
      ckpt,
      '--steps',
      '100000',
      '--checkpoint-every',
      '1',
      '--backend',
      'cpu',
    ];
    const r = await runCli(resume, {
      onStderr: (text, child) => {
        if (sent === 0 && /2\/100000 steps/.test(text)) {
          sent = 1;
          setTimeout(() => child.kill('SIGINT'), 700);
        } else if (sent === 1 && /interrupted: stopping after the current step/.test(text)) {
          sent = 2;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(2);
    expect(r.code).toBe(130);
    expect((await loadCheckpoint(ckpt)).step).toBeGreaterThanOrEqual(2);
  });
});
