import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** A run that takes a second: 2 steps of the MLP on 200 training and 100 test images, on cpu. */
export const TINY_RUN: readonly string[] = [
  '--model',
  'mlp',
  '--steps',
  '2',
  '--train-limit',
  '200',
  '--test-limit',
  '100',
  '--backend',
  'cpu',
];

export function checkBuilt(): void {
  if (!existsSync(cli)) throw new Error('build the CLI first (pnpm --filter @gradsign/cli build)');
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js ...args` with plain node (stdio piped, so not a TTY). */
export function runCli(
  args: string[],
  options: {
    onStderr?: (text: string, child: ChildProcess) => void;
    timeoutMs?: number;
    /** Run as this user (needs root): permission checks do not apply to root. */
    user?: { uid: number; gid: number };
  } = {},
) {
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options.user,
  });
  // Never leave a child behind when a test fails or hangs.
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
    options.onStderr?.(stderr, child);
  });
  return new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
