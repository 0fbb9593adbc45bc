// What every public package must declare to be published, and how pnpm publishes `workspace:` ranges.
import fs from 'node:fs';

export const REPOSITORY = 'https://github.com/gradsign/gradsign';
export const NODE_RANGE = '>=20.19';

/** The range `pnpm pack`/`pnpm publish` writes for a `workspace:` range on a package now at `version`. */
export function publishedRange(range, version) {
  if (!range.startsWith('workspace:')) return range;
  const rest = range.slice('workspace:'.length);
  if (rest === '*') return version;
  if (rest === '^' || rest === '~') return `${rest}${version}`;
  return rest;
}

/** Problems with a public package's manifest (`pkg`, the package.json in `dir`, relative to the repository). */
export function checkManifest(pkg, dir) {
  const problems = [];
  const repo = pkg.repository;
  if (repo?.type !== 'git' || repo.url !== `git+${REPOSITORY}.git` || repo.directory !== dir)
    problems.push(`repository must be { type: 'git', url: 'git+${REPOSITORY}.git', directory: '${dir}' }`);
  if (pkg.homepage !== `${REPOSITORY}/tree/main/${dir}#readme`) problems.push(`homepage: ${pkg.homepage}`);
  if (pkg.engines?.node !== NODE_RANGE) problems.push(`engines.node must be '${NODE_RANGE}'`);
  if (!pkg.license) problems.push('no license');
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    if (typeof target === 'string') continue;
    const keys = Object.keys(target);
    // Node ≥ 20.19 require()s ESM through `default` (or `require`); `types` must come first for TypeScript.
    if (!keys.includes('default'))
      problems.push(`exports['${subpath}'] has no 'default' condition (require())`);
    if (keys.includes('types') && keys[0] !== 'types')
      problems.push(`exports['${subpath}']: 'types' must be first`);
  }
  const files = pkg.files ?? [];
  if (files.includes('src') && !files.some((f) => f.startsWith('!src/') && f.includes('.test.')))
    problems.push("files ships 'src' without excluding its tests (e.g. '!src/**/*.test.ts')");
  for (const [peer, meta] of Object.entries(pkg.peerDependenciesMeta ?? {})) {
    const range = pkg.peerDependencies?.[peer];
    if (!range || range === '*') problems.push(`optional peer ${peer} has no version range`);
    if (!meta?.optional) problems.push(`peerDependenciesMeta.${peer} is not optional`);
  }
  return problems;
}

/** Links in a README that do not work on the registry's page: relative ones (the page has no files beside it). */
export function relativeReadmeLinks(readmePath) {
  const text = fs.readFileSync(readmePath, 'utf8');
  const links = [...text.matchAll(/\]\(([^)\s]+)[^)]*\)|^\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1] ?? m[2]);
  return links.filter((href) => !/^(https?:|mailto:|#)/.test(href));
}
