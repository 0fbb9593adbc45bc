import type * as tf from '@tensorflow/tfjs-core';
import { fail } from './errors.js';
import { Adam, AdamW } from './optimizers/adam.js';
import { GradSign, type GradSignConfig } from './optimizers/gradsign.js';
import { SGD } from './optimizers/sgd.js';
import type { OptionChecks } from './validate.js';

/** The config every registered optimizer accepts a subset of (names follow tfjs; see README for PyTorch's). */
export type OptimizerConfig = Record<string, unknown> & { learningRate?: number };

/** An optimizer the registry can create: a tfjs `Optimizer` that also reports its true state bytes. */
export type RegisteredOptimizer = tf.Optimizer & {
  /** The bytes of backend memory its state really holds, as `tf.memory()` counts them. */
  stateBytes(): number;
  learningRate: number;
};

/** A registry entry: an optimizer's name, description, defaults and options, and how to create it. */
export interface OptimizerEntry {
  /** The name users pass to `createOptimizer` and the CLI's `--optimizer`; lower case. */
  readonly name: string;
  readonly description: string;
  /**
   * Defaults applied before the user's config. `learningRate` is the optimizer's own default: `createOptimizer`
   * and the constructors use it; the trainer uses it unless its protocol publishes a rate of its own.
   */
  readonly defaults: OptimizerConfig;
  /** The options `create` accepts (`fromClass` lists every option of the class). */
  readonly options?: readonly string[];
  /**
   * True when `create` takes a `seed` option (the optimizer draws random numbers): the trainer then passes the
   * run's seed. `fromClass` sets it from the class's options; an entry without it is not seeded.
   */
  readonly seeded?: boolean;
  /** The package that registered it, for messages ('@gradsign/optim-core' for the built-ins). */
  readonly source?: string;
  /** Creates the optimizer from a config with the entry's `defaults` already merged in. */
  readonly create: (config: OptimizerConfig) => RegisteredOptimizer;
}

/**
 * An optimizer class that describes itself: its static `defaults` (every option with its default, the library's
 * default learning rate among them) and `options` (one check per option, the same keys). optim-core's classes and
 * the contributed ones are written this way, so that the class is the one place that says what it accepts.
 */
export interface DescribedOptimizerClass<C extends object> {
  new (config?: C): RegisteredOptimizer;
  readonly defaults: Readonly<Required<C>>;
  readonly options: OptionChecks<C>;
}

/**
 * The registry entry of a class that describes itself: its defaults, options and whether it is seeded (it has a
 * `seed` option) all come from the class. `registerOptimizer(fromClass(Lion, { name: 'lion', description, source }))`.
 */
export function fromClass<C extends object>(
  type: DescribedOptimizerClass<C>,
  about: { readonly name: string; readonly description: string; readonly source?: string },
): OptimizerEntry {
  return {
    ...about,
    defaults: { ...type.defaults } as OptimizerConfig,
    options: Object.freeze(Object.keys(type.options)),
    seeded: 'seed' in type.options,
    create: (config) => new type(config as C),
  };
}

const registry = new Map<string, OptimizerEntry>();

/**
 * Makes an optimizer available by name. Contributed packages call this on import, with `fromClass`. Registering a
 * taken name is an error unless `replace` is set, so two packages cannot silently shadow each other.
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

/** Creates a registered optimizer: `createOptimizer('gradsign', { learningRate: 0.01, seed: 1 })`. */
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

/** The registry entry for `name` (case-insensitive), or undefined if none is registered under it. */
export function getOptimizerEntry(name: string): OptimizerEntry | undefined {
  return registry.get(name.toLowerCase());
}

const source = '@gradsign/optim-core';
registerOptimizer(
  fromClass(GradSign, {
    name: 'gradsign',
    description: 'GradSign: EMA of the gradient sign in an int8 counter, 1 byte/param',
    source,
  }),
);
registerOptimizer(
  fromClass(Adam, {
    name: 'adam',
    description: 'Adam (PyTorch semantics, eps 1e-8, classic L2 weight decay), 8 bytes/param',
    source,
  }),
);
registerOptimizer(
  fromClass(AdamW, {
    name: 'adamw',
    description: 'AdamW (decoupled weight decay 0.01), 8 bytes/param',
    source,
  }),
);
registerOptimizer(
  fromClass(SGD, {
    name: 'sgd',
    description: 'SGD with optional momentum/Nesterov (PyTorch semantics), 0 or 4 bytes/param',
    source,
  }),
);
/** GradSign's ablations (issue 18): each changes one thing from the reference, and is still one byte a parameter. */
export const GRADSIGN_ABLATIONS: Readonly<Record<string, { config: GradSignConfig; description: string }>> =
  Object.freeze({
    'gradsign-t4': {
      config: { timescale: 4 },
      description: 'GradSign with decay timescale 4 (1/4 a step; increment 16, scale 1/64)',
    },
    'gradsign-t16': {
      config: { timescale: 16 },
      description: 'GradSign with decay timescale 16 (1/16 a step; increment 8, scale 1/128)',
    },
    'gradsign-zero-init': {
      config: { init: 'zero' },
      description: 'GradSign with counters starting at 0 (the reference starts them random)',
    },
    'gradsign-zero-as-zero': {
      config: { zeroGradient: 'zero' },
      description: 'GradSign with a zero gradient not pushing the counter (the reference counts it as -1)',
    },
  });
for (const [name, { config, description }] of Object.entries(GRADSIGN_ABLATIONS)) {
  const entry = fromClass(GradSign, { name, description: `${description}, 1 byte/param`, source });
  registerOptimizer({ ...entry, defaults: { ...entry.defaults, ...config } });
}
