// Output paths are checked before any work, so that a run never trains for minutes and then fails to save.
import { randomBytes } from 'node:crypto';
import { open, readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isCheckpoint } from '@gradsign/trainer';
import { UsageError } from './errors.js';

/** What a failed file-system call means, in words (no paths: the caller names the user's path). */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory';
    case 'EISDIR':
      return 'is a directory';
    case 'ELOOP':
      return 'too many levels of symbolic links (a symlink loop?)';
    case 'ENOSPC':
      return 'no space left on device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'ENAMETOOLONG':
      return 'file name too long';
    default:
      return code ?? (error as Error).message;
  }
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** The path's closest ancestor (or itself) that exists, spelt as the user's path is, and its stats. */
async function nearestExisting(path: string) {
  let current = path;
  for (;;) {
    const stats = await statOrUndefined(current);
    if (stats) return { path: current, stats };
    const parent = dirname(current);
    if (parent === current) throw new Error(`no existing ancestor of ${path}`);
    current = parent;
  }
}

/**
 * Creates and removes a file in `dir`, as a write will: the only check that holds for every user (root ignores
 * permission bits), read-only mounts and ACLs. `prefix` makes the probe look like an atomic write's temp file.
 */
async function probeWritable(dir: string, prefix: string): Promise<string | undefined> {
  const probe = join(dir, `${prefix}${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await (await open(probe, 'wx', 0o600)).close();
  } catch (error) {
    return describeFsError(error);
  }
  await unlink(probe).catch(() => {});
  return undefined;
}

/** Names `writeOutputs` writes into an `--out` directory; an existing directory by one of these names blocks it. */
const OUTPUT_FILE = /^(?:steps\.(?:csv|json)|results\.json|loss(?:-.+)?\.svg|lr-curves\.svg)$/;

/**
 * `--out <dir>`: an existing directory, or one that can be created (its nearest existing ancestor is a writable
 * directory). Throws UsageError naming `dir` as the user typed it.
 */
export async function checkOutputDir(flag: string, dir: string): Promise<void> {
  const fail = (problem: string): never => {
    throw new UsageError(`${flag} ${dir}: ${problem}`);
  };
  let found: Awaited<ReturnType<typeof nearestExisting>>;
  try {
    found = await nearestExisting(dir);
  } catch (error) {
    return fail(describeFsError(error));
  }
  const exists = found.path === dir;
  if (!found.stats.isDirectory()) {
    return exists
      ? fail('is an existing file, not a directory (give a new or an existing directory)')
      : fail(`${found.path} is a file, so the directory cannot be created`);
  }
  if (exists) {
    for (const entry of await readdir(found.path, { withFileTypes: true }).catch(() => [])) {
      if (OUTPUT_FILE.test(entry.name) && entry.isDirectory()) {
        fail(`${entry.name} in it is a directory, where the output file ${entry.name} would be written`);
      }
    }
  }
  const problem = await probeWritable(found.path, '.gradsign-probe.');
  if (problem) {
    fail(
      exists
        ? `cannot write in it (${problem})`
        : `cannot create it: cannot write in ${found.path} (${problem})`,
    );
  }
}

/**
 * A checkpoint file to be written atomically (a temp file in the same directory, renamed over it): its
 * directory must exist and be writable, and it must not be a directory. With `mustBeCheckpoint`, an existing
 * non-empty file that is not a gradsign checkpoint is refused rather than overwritten.
 */
export async function checkCheckpointFile(
  flag: string,
  file: string,
  options: { mustBeCheckpoint: boolean },
): Promise<void> {
  const fail = (problem: string): never => {
    throw new UsageError(`${flag} ${file}: ${problem}`);
  };
  const target = resolve(file);
  let stats: Awaited<ReturnType<typeof stat>> | undefined;
  try {
    stats = await statOrUndefined(target);
  } catch (error) {
    fail(describeFsError(error));
  }
  if (stats?.isDirectory()) fail(`is a directory; give a file name, e.g. ${join(file, 'run.ckpt')}`);
  if (stats && !stats.isFile()) fail('is not a regular file');
  if (stats && options.mustBeCheckpoint && stats.size > 0) {
    const head = new Uint8Array(8);
    try {
      const handle = await open(target, 'r');
      try {
        await handle.read(head, 0, head.length, 0);
      } finally {
        await handle.close();
      }
    } catch (error) {
      fail(`cannot read it (${describeFsError(error)})`);
    }
    if (!isCheckpoint(head)) fail('exists and is not a gradsign checkpoint; refusing to overwrite it');
  }
  const dir = dirname(target);
  const shownDir = dirname(file);
  let dirStats: Awaited<ReturnType<typeof stat>> | undefined;
  try {
    dirStats = await statOrUndefined(dir);
  } catch (error) {
    fail(`cannot use directory ${shownDir} (${describeFsError(error)})`);
  }
  if (!dirStats) return fail(`directory ${shownDir} does not exist (create it first)`);
  if (!dirStats.isDirectory()) fail(`${shownDir} is not a directory`);
  const problem = await probeWritable(dir, `.${basename(target)}.`);
  if (problem) fail(`cannot write in directory ${shownDir} (${problem})`);
}

/** `--out` and the checkpoint file must differ: one is a directory, the other a file. */
export function checkDistinct(out: string | undefined, checkpoint: string | undefined, flag: string): void {
  if (out !== undefined && checkpoint !== undefined && resolve(out) === resolve(checkpoint)) {
    throw new UsageError(`--out ${out} and ${flag} ${checkpoint} name the same path`);
  }
}
