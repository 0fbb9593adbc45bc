// A failed checkpoint write names the file the caller gave, never the hidden temp file it writes first.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CheckpointError } from '../src/index.js';
import { writeFileAtomic } from '../src/node.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gradsign-atomic-errors-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function writeError(path: string): Promise<CheckpointError> {
  const error = await writeFileAtomic(path, new Uint8Array([1, 2, 3])).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(CheckpointError);
  expect((error as CheckpointError).code).toBe('io');
  expect((error as Error).message).not.toMatch(/\.tmp\b/);
  return error as CheckpointError;
}

test.each([
  [
    'into a missing directory',
    'missing/run.ckpt',
    /missing\/run\.ckpt: cannot write checkpoint: directory .*missing does not exist$/,
  ],
  ['onto a directory', 'a-directory', /a-directory: cannot write checkpoint: it is a directory$/],
  [
    'below a regular file',
    'a-file/run.ckpt',
    /a-file\/run\.ckpt: cannot write checkpoint: .*a-file is not a directory$/,
  ],
])('a write %s names the path and the reason', async (_, name, message) => {
  await mkdir(join(dir, 'a-directory', 'inside'), { recursive: true });
  await writeFile(join(dir, 'a-file'), 'x');
  const error = await writeError(join(dir, name));
  expect(error.message).toMatch(message);
  // The failed write leaves no temp file behind.
  expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
});
