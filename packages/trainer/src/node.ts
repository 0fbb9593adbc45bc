// Node-only helpers: checkpoint files written atomically.
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';
import { CheckpointError } from './errors.js';

function tempPrefix(path: string): string {
  return `.${basename(path)}.`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temp files that writers of `path` left behind when they were killed (their process is gone). */
async function removeStaleTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = tempPrefix(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const match = name.startsWith(prefix) && /^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length));
    if (match && Number(match[1]) !== process.pid && !isAlive(Number(match[1]))) {
      await unlink(join(dir, name)).catch(() => {});
    }
  }
}

/**
 * Why a write of `path` failed, naming `path` and its directory, never the temp file (Node's own messages
 * name the file of the failing call, which is the temp file or the rename's source).
 */
function writeProblem(error: unknown, path: string, temp: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  const dir = dirname(path);
  switch (code) {
    case 'ENOENT':
      return `directory ${dir} does not exist`;
    case 'ENOTDIR':
      return `${dir} is not a directory`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied in directory ${dir}`;
    case 'EROFS':
      return `directory ${dir} is on a read-only file system`;
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOSPC':
      return 'no space left on device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    default:
      return (error as Error).message.split(temp).join(path);
  }
}

/**
 * Writes `bytes` to `path` so that `path` always holds either its old content or all of the new: the bytes go to
 * a temp file in the same directory, which is fsynced, then renamed over `path` (atomic on POSIX file systems);
 * the directory is fsynced last so the rename survives a crash.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const target = resolve(path);
  const temp = join(
    dirname(target),
    `${tempPrefix(target)}${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw new CheckpointError('io', `${path}: cannot write checkpoint: ${writeProblem(error, path, temp)}`);
  }
  try {
    const dir = await open(dirname(target), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is still atomic.
  }
  await removeStaleTemps(target);
}

/** Encodes and atomically writes a checkpoint; returns the file size in bytes. */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<number> {
  const bytes = encodeCheckpoint(checkpoint);
  await writeFileAtomic(path, bytes);
  return bytes.length;
}

/** Reads and verifies a checkpoint file. Throws `CheckpointError` naming the file. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new CheckpointError('io', `${path}: cannot read checkpoint: ${problem}`);
  }
  return decodeCheckpoint(bytes, path);
}

export * from './index.js';
export { ParallelTrainer, type ParallelTrainerOptions } from './parallel/parallel-trainer.js';
export type { ReplicaSetup } from './parallel/replica-thread.js';
