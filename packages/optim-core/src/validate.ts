import { fail } from './errors.js';

/**
 * Checks one config value and throws an `OptimizerError` with code 'invalid-config' if it is not valid. `key` is
 * the option's name and `where` the optimizer's, for the message. Compose checks for a stricter one.
 */
export type Check = (value: unknown, key: string, where: string) => void;

/** One check per option of a config type: an optimizer class's static `options`. */
export type OptionChecks<T> = { readonly [K in keyof T]-?: Check };

const describe = (value: unknown) => (typeof value === 'string' ? `'${value}'` : String(value));

/** A finite number > 0: learning rates. */
export const positiveFinite: Check = (value, key, where) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail('invalid-config', `${where}: ${key} must be a positive finite number, got ${describe(value)}`);
  }
};

/** A finite number >= 0: epsilons and weight decay. */
export const nonNegativeFinite: Check = (value, key, where) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail('invalid-config', `${where}: ${key} must be a finite number >= 0, got ${describe(value)}`);
  }
};

/** [0, 1): betas and momentum. */
export const unitInterval: Check = (value, key, where) => {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    fail('invalid-config', `${where}: ${key} must be in [0, 1), got ${describe(value)}`);
  }
};

/** true or false. */
export const boolean: Check = (value, key, where) => {
  if (typeof value !== 'boolean')
    fail('invalid-config', `${where}: ${key} must be true or false, got ${describe(value)}`);
};

/** A safe integer (any sign): seeds. */
export const integer: Check = (value, key, where) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    fail('invalid-config', `${where}: ${key} must be an integer, got ${describe(value)}`);
  }
};

/** An integer >= 0: sizes and counts. */
export const nonNegativeInteger: Check = (value, key, where) => {
  integer(value, key, where);
  nonNegativeFinite(value, key, where);
};

/** A check that accepts only one of the strings `allowed`: `oneOf('random', 'zero')`. */
export const oneOf =
  (...allowed: string[]): Check =>
  (value, key, where) => {
    if (typeof value !== 'string' || !allowed.includes(value)) {
      fail(
        'invalid-config',
        `${where}: ${key} must be one of ${allowed.map(describe).join(', ')}, got ${describe(value)}`,
      );
    }
  };

/**
 * Validates `config` against a schema of checks and fills in defaults. Unknown keys are rejected, so a typo such
 * as `learning_rate` fails loudly instead of being ignored.
 */
export function checkConfig<T extends object>(
  where: string,
  config: object | undefined,
  defaults: Readonly<T>,
  schema: OptionChecks<NoInfer<T>>,
): T {
  const given = (config ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(key in schema)) {
      fail(
        'invalid-config',
        `${where}: unknown option '${key}'; known options: ${Object.keys(schema).join(', ')}`,
      );
    }
  }
  const merged = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(given)) if (value !== undefined) merged[key] = value;
  for (const [key, check] of Object.entries(schema) as [string, Check][]) {
    if (merged[key] !== undefined) check(merged[key], key, where);
  }
  return merged as T;
}
