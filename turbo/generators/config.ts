import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PlopTypes } from '@turbo/gen';

/**
 * `pnpm new:optimizer NAME [DESCRIPTION] [DIR] [CHANGESET_DIR]` (or `turbo gen optimizer`): scaffolds
 * DIR/optim-NAME (DIR defaults to packages) as a publishable `@gradsign/optim-NAME` package with a working
 * optimizer (heavy-ball momentum, to be replaced by your rule), the optim-testkit conformance suite wired in, a
 * golden check against a plain-JS reference, a README template and a changeset in CHANGESET_DIR (.changeset).
 * Pass `-` for an argument to take its default; arguments left out are asked for. See CONTRIBUTING.md.
 */
const DESCRIPTION = 'A contributed optimizer for TensorFlow.js on @gradsign/optim-core.';

/** A text prompt whose command-line argument may be '-' for its default. */
function withDefault(name: string, message: string, fallback: string): PlopTypes.PromptQuestion {
  return {
    type: 'input',
    name,
    message,
    default: fallback,
    bypass: (value: string) => (value === '-' || value === '' ? fallback : value),
  } as PlopTypes.PromptQuestion;
}

export default function generator(plop: PlopTypes.NodePlopAPI): void {
  plop.setHelper('json', (value: unknown) => JSON.stringify(value));

  plop.setGenerator('optimizer', {
    description: 'A contributed optimizer package: packages/optim-<name>',
    prompts: [
      {
        type: 'input',
        name: 'name',
        message: 'Optimizer name (lower case, the registry name: e.g. lion, adafactor)',
        validate: (value: string) =>
          /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(value) || 'lower case letters, digits and single dashes',
      },
      withDefault('description', 'One-line description', DESCRIPTION),
      withDefault('dir', 'Directory for the package', 'packages'),
      withDefault('changesetDir', 'Directory for the changeset', '.changeset'),
    ],
    actions: (answers) => {
      const a = answers as {
        name: string;
        dir: string;
        changesetDir: string;
        turbo: { paths: { root: string } };
      };
      const root = a.turbo.paths.root;
      const templates = join(root, 'turbo', 'generators', 'templates');
      const target = join(root, a.dir, `optim-${a.name}`);
      if (existsSync(target)) throw new Error(`${target} already exists`);
      return [
        {
          type: 'addMany',
          destination: target,
          base: join(templates, 'optimizer'),
          templateFiles: join(templates, 'optimizer', '**', '*'),
          stripExtensions: ['hbs'],
          globOptions: { dot: true },
          abortOnFail: true,
        },
        {
          type: 'add',
          path: join(root, a.changesetDir, `optim-${a.name}-initial.md`),
          templateFile: join(templates, 'changeset.md.hbs'),
          abortOnFail: true,
        },
        () => {
          // Long names make long lines: let the repository's formatter lay the new code out.
          try {
            execFileSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', target], {
              stdio: 'ignore',
            });
            return 'formatted with biome';
          } catch {
            return 'not formatted (run: npx biome check --write on the new package)';
          }
        },
        `Created ${join(a.dir, `optim-${a.name}`)}. Next: pnpm install, then see CONTRIBUTING.md.`,
      ];
    },
  });
}
