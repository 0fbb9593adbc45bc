// Pre-bundles tfjs-core's gradient configs into dist/vendor/tfjs-gradients.js.
//
// tfjs-core ships its gradients as extensionless ESM files under dist/gradients/, which plain Node cannot
// import, and its CommonJS Node bundle does not contain them at all. This script bundles the gradient files
// with esbuild and rewrites every import of tfjs-core internals to the *public* `@tensorflow/tfjs-core` entry
// (kept external), so the output holds no second copy of the engine, the tensor class or the registries.
// Internal helpers that are not public (small op wrappers such as conv2DBackpropFilter) are bundled; any
// stateful module that would have to be bundled fails the build instead.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const pkgRoot = resolve(here, '..');
const require = createRequire(join(pkgRoot, 'package.json'));
const corePkgJson = require.resolve('@tensorflow/tfjs-core/package.json');
const coreDist = join(dirname(corePkgJson), 'dist');
const coreVersion = JSON.parse(readFileSync(corePkgJson, 'utf8')).version;
const tf = require('@tensorflow/tfjs-core');

const outDir = join(pkgRoot, process.argv[2] ?? 'dist/vendor');
const outFile = join(outDir, 'tfjs-gradients.js');

/** Modules that hold state and must never be duplicated. */
const STATEFUL = [
  /^engine\.js$/,
  /^environment\.js$/,
  /^global_util\.js$/,
  /^kernel_registry\.js$/,
  /^tensor\.js$/,
  /^flags\.js$/,
  /^base.*\.js$/,
  /^index\.js$/,
  /^platforms\//,
  /^io\//,
  /^gradients\.js$/,
  /^tape\.js$/,
];

/** Public namespaces that re-export the named internal module, in the order to look names up. */
function publicHomes(rel) {
  if (['kernel_names.js', 'kernel_registry.js', 'base.js', 'environment.js'].includes(rel)) return [[]];
  if (rel === 'util.js' || rel === 'util_base.js') return [['util']];
  if (rel === 'ops/slice_util.js') return [['slice_util']];
  if (rel === 'ops/broadcast_util.js') return [['broadcast_util'], ['backend_util']];
  if (/^ops\/[a-z_]+_util\.js$/.test(rel)) return [['backend_util']];
  if (rel.startsWith('ops/')) return [[]];
  return [];
}

function lookup(path, name) {
  let v = tf;
  for (const p of path) v = v?.[p];
  return v != null && Object.hasOwn(v, name) ? v[name] : undefined;
}

const exportCache = new Map();
/** All names a tfjs-core module exports, star re-exports included. */
async function exportsOf(file) {
  if (!exportCache.has(file)) {
    const r = await esbuild.build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format: 'esm',
      outdir: 'out',
      metafile: true,
      logLevel: 'silent',
    });
    const out = Object.values(r.metafile.outputs).find((o) => o.entryPoint != null);
    exportCache.set(file, out.exports);
  }
  return exportCache.get(file);
}

/** Names that `importer` imports from `spec`, or '*' for a namespace import. */
function importedNames(importer, spec) {
  const src = readFileSync(importer, 'utf8');
  const esc = spec.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  if (new RegExp(`import \\* as \\w+ from '${esc}'`).test(src)) return '*';
  const m = src.match(new RegExp(`import \\{([^}]*)\\} from '${esc}'`));
  if (m == null) return '*';
  return m[1]
    .split(',')
    .map((s) => s.trim().split(/\s+as\s+/)[0])
    .filter(Boolean)
    .sort();
}

/** Hand-written stand-ins for the few internal symbols the bundled helpers need that have no public export. */
const SHIMS = {
  'engine.js': { ENGINE: "import { engine } from '@tensorflow/tfjs-core';\nexport const ENGINE = engine();" },
  'tensor.js': {
    // tfjs-core keeps the tensor class on its global map; the public `Tensor` class has an instanceof hook
    // that accepts tensors of any copy, so it can serve as the global class.
    getGlobalTensorClass:
      "import { Tensor } from '@tensorflow/tfjs-core';\nexport function getGlobalTensorClass() { return Tensor; }",
  },
};

const bundled = new Set();
const redirected = new Map();

const publicApiPlugin = {
  name: 'tfjs-core-public-api',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (!args.importer.startsWith(coreDist) && args.namespace !== 'entry') return undefined;
      const base = args.namespace === 'entry' ? coreDist : dirname(args.importer);
      let abs = resolve(base, args.path);
      if (!abs.endsWith('.js')) abs += '.js';
      const rel = relative(coreDist, abs).split('\\').join('/');
      if (rel.startsWith('gradients/')) return { path: abs };
      let names = args.importer ? importedNames(args.importer, args.path) : '*';
      if (names === '*') names = await exportsOf(abs);
      const shim = SHIMS[rel];
      if (shim != null && names.every((n) => shim[n] != null)) {
        return { path: `${rel}?${names.join(',')}`, namespace: 'tfjs-shim' };
      }
      for (const home of publicHomes(rel)) {
        if (names.every((n) => lookup(home, n) !== undefined)) {
          const key = `${rel}?${names.join(',')}`;
          redirected.set(key, { home, names });
          return { path: key, namespace: 'tfjs-public' };
        }
      }
      if (STATEFUL.some((re) => re.test(rel))) {
        throw new Error(
          `would bundle stateful tfjs-core module ${rel} (for ${names.join(', ')}); map it to the public API`,
        );
      }
      bundled.add(rel);
      return { path: abs };
    });
    build.onLoad({ filter: /.*/, namespace: 'tfjs-shim' }, (args) => {
      const [rel, list] = args.path.split('?');
      const contents = list
        .split(',')
        .map((n) => SHIMS[rel][n])
        .join('\n');
      return { contents: `${contents}\n`, loader: 'js', resolveDir: pkgRoot };
    });
    build.onLoad({ filter: /.*/, namespace: 'tfjs-public' }, (args) => {
      const { home, names } = redirected.get(args.path);
      const lines =
        home.length === 0
          ? [`export { ${names.join(', ')} } from '@tensorflow/tfjs-core';`]
          : [
              `import { ${home[0]} as ns } from '@tensorflow/tfjs-core';`,
              ...names.map((n) => `export const ${n} = ns.${n};`),
            ];
      return { contents: `${lines.join('\n')}\n`, loader: 'js', resolveDir: pkgRoot };
    });
  },
};

const registerAll = readFileSync(join(coreDist, 'register_all_gradients.js'), 'utf8');
const imports = [...registerAll.matchAll(/^import \{ (\w+) \} from '(\.\/gradients\/\w+)';$/gm)];
const listMatch = registerAll.match(/const gradConfigs = \[([\s\S]*?)\];/);
if (imports.length === 0 || listMatch == null) throw new Error('unexpected register_all_gradients.js layout');
const listed = listMatch[1]
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const entry = [
  ...imports.map(([, name, path]) => `import { ${name} } from '${path}';`),
  // The list names a few configs twice (Max, PadV2, SpaceToBatchND, SplitV); keep one of each.
  `export const gradConfigs = Object.freeze([...new Set([${listed.join(', ')}])]);`,
  `export const tfjsCoreVersion = ${JSON.stringify(coreVersion)};`,
].join('\n');

mkdirSync(outDir, { recursive: true });
await esbuild.build({
  stdin: { contents: entry, resolveDir: coreDist, sourcefile: 'tfjs-gradients-entry.js', loader: 'js' },
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2020',
  external: ['@tensorflow/tfjs-core'],
  plugins: [publicApiPlugin],
  outfile: outFile,
  legalComments: 'eof',
  banner: {
    js: `// Gradient configs of @tensorflow/tfjs-core ${coreVersion} (Apache-2.0), bundled against its public API.\n// Generated by scripts/bundle-gradients.mjs: do not edit.`,
  },
  logLevel: 'warning',
});
const code = readFileSync(outFile, 'utf8');
const undefinedUse = code.match(/.{0,60}\(void 0\)[.(].{0,60}/);
if (undefinedUse != null) throw new Error(`bundle references a missing export: ${undefinedUse[0]}`);
copyFileSync(join(pkgRoot, 'src/vendor/tfjs-gradients.d.ts'), join(outDir, 'tfjs-gradients.d.ts'));
console.log(
  `bundle-gradients: ${new Set(listed).size} gradient configs of tfjs-core ${coreVersion} -> ` +
    `${relative(pkgRoot, outFile)} (${Math.round(code.length / 1000)} kB); ${redirected.size} imports of ` +
    `tfjs-core internals mapped to its public API; helpers bundled: ${[...bundled].sort().join(', ') || 'none'}`,
);
