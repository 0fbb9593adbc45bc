import { InvalidArgumentError } from 'commander';

/** A finite number > 0 (learning rates). */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`'${value}' is not a positive number (e.g. 0.003 or 3e-3).`);
  }
  return n;
}

/** An integer ≥ `min`. */
export function integerAtLeast(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`'${value}' is not an integer >= ${min}.`);
    }
    return n;
  };
}

/** Any integer (seeds). */
export function integer(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(`'${value}' is not an integer.`);
  return n;
}

/** 'a,b, c' → ['a', 'b', 'c'] (lower case, no empties). */
export function nameList(value: string): string[] {
  const names = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError('expected a comma-separated list of names.');
  return names;
}

function numberList(value: string, what: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  return parts.map((p) => {
    const n = Number(p);
    if (p === '' || !Number.isFinite(n) || n <= 0) {
      throw new InvalidArgumentError(`'${p}' in '${value}' is not a positive ${what}.`);
    }
    return n;
  });
}

/** Learning-rate grids from repeated `--lrs`: 'a,b,c' applies to every optimizer, 'name=a,b' to one. */
export interface LrGrid {
  all?: number[];
  byOptimizer: Record<string, number[]>;
}

export function lrGrid(value: string, previous: LrGrid | undefined): LrGrid {
  const grid: LrGrid = {
    byOptimizer: { ...previous?.byOptimizer },
    ...(previous?.all ? { all: previous.all } : {}),
  };
  const eq = value.indexOf('=');
  if (eq === -1) {
    grid.all = numberList(value, 'learning rate');
  } else {
    const name = value.slice(0, eq).trim().toLowerCase();
    if (!name) throw new InvalidArgumentError(`'${value}' needs an optimizer name before '='.`);
    grid.byOptimizer[name] = numberList(value.slice(eq + 1), 'learning rate');
  }
  return grid;
}

/** Repeated `--opt key=value`: numbers, true/false, or strings. */
export function optimizerOption(value: string, previous: Record<string, unknown> | undefined) {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`'${value}' is not key=value (e.g. --opt momentum=0.9).`);
  const key = value.slice(0, eq).trim();
  const raw = value.slice(eq + 1).trim();
  if (key === 'learningRate' || key === 'lr')
    throw new InvalidArgumentError('set the learning rate with --lr.');
  let parsed: unknown = raw;
  if (raw === 'true' || raw === 'false') parsed = raw === 'true';
  else if (raw !== '' && Number.isFinite(Number(raw))) parsed = Number(raw);
  return { ...previous, [key]: parsed };
}

/** `--workers`: a thread count, or 'auto' (one per CPU core, resolved once the backend is known). */
export type Workers = number | 'auto';

export function workers(value: string): Workers {
  if (value.trim().toLowerCase() === 'auto') return 'auto';
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 1 || n > 64)
    throw new InvalidArgumentError(`'${value}' is not 'auto' or a thread count from 1 to 64.`);
  return n;
}
