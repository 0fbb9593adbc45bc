import type * as tf from '@tensorflow/tfjs-core';
import { fail } from './errors.js';
import { Adam, AdamW } from './optimizers/adam.js';
import { GradSign } from './optimizers/gradsign.js';
import { SGD } from './optimizers/sgd.js';

/** The config every registered optimizer accepts a subset of (names follow tfjs; see README for PyTorch's). */
export type OptimizerConfig = Record<string, unknown> & { learningRate?: number };

/** An optimizer the registry can create: a tfjs `Optimizer` that also reports its true state bytes. */
export type RegisteredOptimizer = tf.Optimizer & { stateBytes(): number; learningRate: number };

export interface OptimizerEntry {
  /** The name users pass to `createOptimizer` and the CLI's `--optimizer`; lower case. */
  readonly name: string;
  readonly description: string;
  /** Defaults applied before the user's config; `learningRate` is shown by the CLI and the web app. */
  readonly defaults: OptimizerConfig;
  /** The package that registered it, for messages ('@gradsign/optim-core' for the built-ins). */
  readonly source?: string;
  readonly create: (config: OptimizerConfig) => RegisteredOptimizer;
}

const registry = new Map<string, OptimizerEntry>();

/**
 * Makes an optimizer available by name. Contributed packages call this on import. Registering a taken name is an
 * error unless `replace` is set, so two packages cannot silently shadow each other.
 */
export function registerOptimizer(entry: OptimizerEntry, options: { replace?: boolean } = {}): void {
  const name = entry.name.toLowerCase();
  if (!/^[a-z][a-z0-9-]*$/.test(name))
    fail('invalid-config', `optimizer name '${entry.name}' must match [a-z][a-z0-9-]*`);
  const existing = registry.get(name);
  if (existing && !options.replace) {
    fail(
      'duplicate-optimizer',
      `an optimizer named '${name}' is already registered (by ${existing.source ?? 'unknown'})`,
    );
  }
  registry.set(name, { ...entry, name });
}

/** Creates a registered optimizer: `createOptimizer('gradsign', { learningRate: 0.003, seed: 1 })`. */
export function createOptimizer(name: string, config: OptimizerConfig = {}): RegisteredOptimizer {
  const entry = registry.get(name.toLowerCase());
  if (!entry) {
    fail('unknown-optimizer', `unknown optimizer '${name}'; registered: ${[...registry.keys()].join(', ')}`);
  }
  return entry.create({ ...entry.defaults, ...config });
}

/** Every registered optimizer, in registration order. */
export function listOptimizers(): readonly OptimizerEntry[] {
  return [...registry.values()];
}

export function getOptimizerEntry(name: string): OptimizerEntry | undefined {
  return registry.get(name.toLowerCase());
}

const core = '@gradsign/optim-core';
registerOptimizer({
  name: 'gradsign',
  description: 'GradSign: EMA of the gradient sign in an int8 counter, 1 byte/param',
  defaults: { learningRate: 0.003 },
  source: core,
  create: (config) => new GradSign(config),
});
registerOptimizer({
  name: 'adam',
  description: 'Adam (PyTorch semantics, eps 1e-8, classic L2 weight decay), 8 bytes/param',
  defaults: { learningRate: 0.001 },
  source: core,
  create: (config) => new Adam(config),
});
registerOptimizer({
  name: 'adamw',
  description: 'AdamW (decoupled weight decay 0.01), 8 bytes/param',
  defaults: { learningRate: 0.001 },
  source: core,
  create: (config) => new AdamW(config),
});
registerOptimizer({
  name: 'sgd',
  description: 'SGD with optional momentum/Nesterov (PyTorch semantics), 0 or 4 bytes/param',
  defaults: { learningRate: 0.01 },
  source: core,
  create: (config) => new SGD(config),
});
