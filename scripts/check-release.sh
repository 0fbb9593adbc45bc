#!/usr/bin/env bash
# Release check: runs `changeset version` on today's changesets in a temporary copy of the repository (the work
# tree itself is never touched) and checks what a release would publish: each package's new version, the ranges
# between our packages as `pnpm publish` writes them, the changelogs, and every public manifest's metadata
# (scripts/release-check/assert.mjs). See .changeset/README.md for the versioning rules it enforces.
# Usage: bash scripts/check-release.sh [--keep]   (--keep leaves the temporary copy for inspection)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
log() { printf '\033[1m[check-release]\033[0m %s\n' "$*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gradsign-release.XXXXXX")
if [ "${1:-}" = "--keep" ]; then log "keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi

# The files git knows about or would add (tracked and untracked, not ignored), as they are in the work tree.
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | tar -cf - --null -T - | tar -xf - -C "$tmp"
mkdir -p "$tmp/before"
for f in packages/*/package.json apps/*/package.json; do
  mkdir -p "$tmp/before/$(dirname "$f")" && cp "$f" "$tmp/before/$f"
done
cp -r .changeset "$tmp/before/.changeset"
for f in packages/*/CHANGELOG.md apps/*/CHANGELOG.md; do if [ -e "$f" ]; then cp "$f" "$tmp/before/$f"; fi; done
ln -s "$root/node_modules" "$tmp/node_modules" # changesets resolves its changelog module from the project

log "changeset version (in $tmp)"
(cd "$tmp" && git init -q && "$root/node_modules/.bin/changeset" version >/dev/null)
node scripts/release-check/assert.mjs "$tmp/before" "$tmp"
