// Checks a copy of the repository after `changeset version` against the manifests and changesets before it.
// Usage: node scripts/release-check/assert.mjs <before> <after>   (both hold packages/*/ and apps/*/package.json;
// <before> also holds .changeset/). Exits 1 with every problem listed.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { checkManifest, publishedRange, relativeReadmeLinks } from './manifest.mjs';

const require = createRequire(createRequire(import.meta.url).resolve('@changesets/cli/package.json'));
const semver = require('semver');

const [before, after] = process.argv.slice(2);
const problems = [];
const fail = (message) => problems.push(message);

const dirs = ['packages', 'apps'].flatMap((group) =>
  fs
    .readdirSync(path.join(before, group))
    .map((name) => `${group}/${name}`)
    .filter((dir) => fs.existsSync(path.join(before, dir, 'package.json'))),
);
const read = (base, dir) => JSON.parse(fs.readFileSync(path.join(base, dir, 'package.json'), 'utf8'));
const old = new Map(dirs.map((dir) => [dir, read(before, dir)]));
const now = new Map(dirs.map((dir) => [dir, read(after, dir)]));
const byName = new Map(dirs.map((dir) => [now.get(dir).name, now.get(dir)]));

// The largest bump each package's own changesets ask for.
const order = ['patch', 'minor', 'major'];
const asked = new Map();
for (const file of fs.readdirSync(path.join(before, '.changeset')).filter((f) => f.endsWith('.md'))) {
  if (file === 'README.md') continue;
  const text = fs.readFileSync(path.join(before, '.changeset', file), 'utf8');
  const front = /^---\n([\s\S]*?)\n---/.exec(text)?.[1];
  if (front == null) fail(`.changeset/${file}: no frontmatter`);
  for (const [, name, type] of (front ?? '').matchAll(
    /^["']?(@?[\w/.-]+)["']?\s*:\s*(patch|minor|major)\s*$/gm,
  )) {
    if (!byName.has(name)) fail(`.changeset/${file} names ${name}, which is not a package here`);
    if (order.indexOf(type) > order.indexOf(asked.get(name) ?? 'none')) asked.set(name, type);
  }
}

const rows = [];
for (const dir of dirs) {
  const was = old.get(dir);
  const is = now.get(dir);
  const changelog = fs.existsSync(path.join(after, dir, 'CHANGELOG.md'));
  if (was.private) {
    if (is.version !== was.version)
      fail(`${is.name} is private but was versioned ${was.version} → ${is.version}`);
    if (changelog) fail(`${is.name} is private but got a CHANGELOG.md`);
    continue;
  }
  const type = asked.get(was.name);
  // A package never released (no changelog yet) sits at a prerelease of its first version, e.g. 0.1.0-0.
  if (!fs.existsSync(path.join(before, dir, 'CHANGELOG.md')) && semver.prerelease(was.version) == null)
    fail(
      `${is.name} was never released but is at ${was.version}; set it to its first version's prerelease (e.g. 0.1.0-0)`,
    );
  // Only the package's own changesets decide its bump: never a major forced by a dependency or peer.
  const expected = type == null ? was.version : semver.inc(was.version, type);
  if (is.version !== expected)
    fail(
      `${is.name}: ${was.version} → ${is.version}, but its changesets ask for ${type ?? 'nothing'} (${expected})`,
    );
  if (semver.prerelease(was.version) != null && type != null && semver.prerelease(is.version) != null)
    fail(`${is.name}: the unreleased ${was.version} must be released as ${semver.coerce(was.version)}`);
  if (type != null && !changelog) fail(`${is.name}: no CHANGELOG.md written`);
  for (const problem of checkManifest(is, dir)) fail(`${is.name}: ${problem}`);
  const readme = path.join(after, dir, 'README.md');
  if (!fs.existsSync(readme)) fail(`${is.name}: no README.md`);
  else
    for (const href of relativeReadmeLinks(readme))
      fail(`${is.name}: README link ${href} is relative; on the registry's page it must be absolute`);
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dep, range] of Object.entries(is[field] ?? {})) {
      const target = byName.get(dep);
      if (target == null) continue;
      if (target.private) fail(`${is.name} ${field}: ${dep} is private and cannot be published`);
      const published = publishedRange(range, target.version);
      if (!semver.satisfies(target.version, published))
        fail(
          `${is.name} ${field}: ${dep} ${range} publishes as ${published}, which ${target.version} misses`,
        );
      if (!published.startsWith('^'))
        fail(
          `${is.name} ${field}: ${dep} publishes as ${published}; expected a caret range (^${target.version})`,
        );
    }
  }
  rows.push(`${is.name} ${was.version} → ${is.version}`);
}

if (problems.length > 0) {
  console.error(`release check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`release check: ${rows.join(', ')}; private packages unversioned; manifests complete`);
