import { InvalidArgumentError } from 'commander';

/**
 * Plain decimal notation with an optional sign, fraction and exponent: `3`, `-2`, `0.003`, `.5`, `3e-3`, `1E+4`.
 * Anything else — hex, binary or octal prefixes, `_` separators, spaces, `Infinity`, `NaN`, the empty string —
 * does not match, although JavaScript's `Number()` accepts most of them.
 */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The number that `text` denotes in decimal notation, or undefined when `text` is not a decimal number. */
export function parseDecimal(text: string): number | undefined {
  return DECIMAL.test(text) ? Number(text) : undefined;
}

/** A finite number > 0 (learning rates). */
export function positiveNumber(value: string): number {
  const n = parseDecimal(value);
  if (n === undefined || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(
      `'${value}' is not a positive number (write it in decimal, e.g. 0.003 or 3e-3).`,
    );
  }
  return n;
}

/** An integer ≥ `min`. */
export function integerAtLeast(min: number): (value: string) => number {
  return (value) => {
    const n = parseDecimal(value);
    if (n === undefined || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`'${value}' is not an integer >= ${min}.`);
    }
    return n;
  };
}

/** Any integer (seeds). */
export function integer(value: string): number {
  const n = parseDecimal(value);
  if (n === undefined || !Number.isSafeInteger(n))
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

/** 'a,b,c' (spaces after commas allowed) → positive numbers; `typed` is the whole argument, quoted in errors. */
function numberList(list: string, typed: string, what: string): number[] {
  return list.split(',').map((part) => {
    const p = part.trim();
    if (p === '') throw new InvalidArgumentError(`'${typed}' has an empty ${what} (e.g. 0.001,0.01).`);
    const n = parseDecimal(p);
    if (n === undefined || !Number.isFinite(n) || n <= 0) {
      throw new InvalidArgumentError(`'${p}' in '${typed}' is not a positive ${what}.`);
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
    grid.all = numberList(value, value, 'learning rate');
  } else {
    const name = value.slice(0, eq).trim().toLowerCase();
    if (!name) throw new InvalidArgumentError(`'${value}' needs an optimizer name before '='.`);
    grid.byOptimizer[name] = numberList(value.slice(eq + 1), value, 'learning rate');
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
  if (raw === '')
    throw new InvalidArgumentError(`'${value}' has no value after '=' (e.g. --opt momentum=0.9).`);
  let parsed: unknown = raw;
  if (raw === 'true' || raw === 'false') parsed = raw === 'true';
  else {
    const n = parseDecimal(raw);
    if (n !== undefined && Number.isFinite(n)) parsed = n;
  }
  return { ...previous, [key]: parsed };
}

/** `--workers`: a thread count, or 'auto' (one per CPU core, resolved once the backend is known). */
export type Workers = number | 'auto';

export function workers(value: string): Workers {
  if (value.trim().toLowerCase() === 'auto') return 'auto';
  const n = parseDecimal(value);
  if (n === undefined || !Number.isSafeInteger(n) || n < 1 || n > 64)
    throw new InvalidArgumentError(`'${value}' is not 'auto' or a thread count from 1 to 64.`);
  return n;
}
