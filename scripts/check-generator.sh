#!/usr/bin/env bash
# Checks the optimizer generator (`pnpm new:optimizer`, turbo/generators/): generates a package under a throwaway
# name into .generator-check/ (outside the pnpm workspace, so no install and no lockfile change), then builds,
# typechecks, lints and tests it and runs its example against the workspace's optim-core and optim-testkit.
# Deletes everything it made, also on failure. About 20 s once the workspace is built.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

log() { printf '\033[1m[check-generator]\033[0m %s\n' "$*"; }
bin="$PWD/node_modules/.bin"
dir=".generator-check"
name="gencheck$$"
pkg="$dir/optim-$name"
trap 'rm -rf "$dir"' EXIT
rm -rf "$dir"
mkdir -p "$dir"

log "building optim-core and optim-testkit"
"$bin/turbo" run build --filter=@gradsign/optim-core --filter=@gradsign/optim-testkit --output-logs=errors-only >/dev/null

log "generating $pkg"
pnpm -s new:optimizer "$name" - "$dir" "$dir/changesets" </dev/null >/dev/null
test -f "$dir/changesets/optim-$name-initial.md"
# The generated package depends on exactly what optim-lion depends on: borrow its node_modules.
ln -s "$PWD/packages/optim-lion/node_modules" "$pkg/node_modules"

log "build, typecheck, lint"
(cd "$pkg" && "$bin/tsc" -p tsconfig.build.json && "$bin/tsc" -p tsconfig.json --noEmit)
"$bin/biome" check "$pkg"
test -f "$pkg/dist/index.js" && test -f "$pkg/dist/index.d.ts"

log "tests (conformance suite on cpu and wasm, golden vectors)"
(cd "$pkg" && "$bin/vitest" run --reporter=dot)

log "example"
(cd "$pkg" && node examples/quickstart.mjs)
log "ok: the generated package builds, passes lint and its tests, and runs its example"
