import { type ChildProcess, spawn } from 'node:child_process';
import { cli } from './run-cli.js';

/** A CLI process (a worker, a waiting sweep) whose output the test can wait on and which it can kill. */
export interface Running {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout + stderr match `pattern` (rejects when the process exits first). */
  waitFor(pattern: RegExp): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function start(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve: () => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.pattern.test(out + err)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', (d) => {
    out += d;
    check();
  });
  child.stderr!.on('data', (d) => {
    err += d;
    check();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const w of waiters.splice(0)) {
        w.reject(new Error(`process exited (${code ?? signal}) before ${w.pattern}:\n${out}\n${err}`));
      }
      resolve({ code, signal });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ pattern, resolve, reject });
        check();
        if (child.exitCode !== null || child.signalCode !== null) {
          reject(new Error(`process already exited before ${pattern}:\n${out}\n${err}`));
        }
      }),
  };
}

/** JSON lines of stdout, timing fields removed (they differ between any two runs). */
export function comparable(stdout: string): Record<string, unknown>[] {
  const timing = [
    'trainSeconds',
    'evalSeconds',
    'wallSeconds',
    'msPerStep',
    'msPerStepMedian',
    'peakRssBytes',
  ];
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      const obj = JSON.parse(line) as Record<string, unknown>;
      for (const key of timing) delete obj[key];
      return obj;
    });
}

/** A results table with its ms/step column blanked. */
export function withoutTiming(table: string): string {
  return table.replace(/\| *[\d.]+ *\|$/gm, '| - |');
}
