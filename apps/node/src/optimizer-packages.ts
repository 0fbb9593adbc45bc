// Optimizers from other packages: --optimizer-package, and @gradsign/optim-<name> for an unknown --optimizer name.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getOptimizerEntry, listOptimizers } from '@gradsign/optim-core';
import { UsageError } from './errors.js';

/** Modules imported for optimizers, by URL: replica threads of a data-parallel run import them too. */
export const importedModules: string[] = [];

/** Imports a module by path, by name from the CLI's own dependencies, or by name from the working directory. */
async function importModule(name: string): Promise<void> {
  let url: string;
  try {
    url = /^\.{0,2}\//.test(name) ? pathToFileURL(resolve(name)).href : import.meta.resolve(name);
    await import(url);
  } catch (first) {
    try {
      const require = createRequire(join(process.cwd(), 'package.json'));
      url = pathToFileURL(require.resolve(name)).href;
      await import(url);
    } catch {
      throw first;
    }
  }
  if (!importedModules.includes(url)) importedModules.push(url);
}

/** Imports the packages of `--optimizer-package`; one that cannot be imported is a usage error. */
export async function loadOptimizerPackages(modules: readonly string[] | undefined): Promise<void> {
  for (const name of modules ?? []) {
    await importModule(name).catch((error: Error) => {
      throw new UsageError(`cannot import optimizer package '${name}': ${error.message}`);
    });
  }
}

/** An optimizer that is not registered yet is looked for in the package `@gradsign/optim-<name>`. */
export async function ensureOptimizer(name: string): Promise<void> {
  if (getOptimizerEntry(name)) return;
  if (/^[a-z][a-z0-9-]*$/.test(name)) await importModule(`@gradsign/optim-${name}`).catch(() => undefined);
  if (!getOptimizerEntry(name)) {
    throw new UsageError(
      `unknown optimizer '${name}'; registered optimizers: ${listOptimizers()
        .map((o) => o.name)
        .join(', ')} (install @gradsign/optim-${name}, or load a package with --optimizer-package <package>)`,
    );
  }
}
