#!/usr/bin/env bash
# Prints the path of a Node 24 binary, installing it from the npm registry (the `node` package) into
# .cache/node24/ on first use. CI runs the library tests and the consumer checks with it (.ci/run).
# Usage: node24=$(bash scripts/ensure-node24.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$PWD/.cache/node24"
bin="$dir/node_modules/.bin/node"
if ! [ -x "$bin" ] || [ "$("$bin" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != 24 ]; then
  printf '\033[1m[setup]\033[0m installing Node 24 from the npm registry into %s\n' "$dir" >&2
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && echo '{ "name": "node24", "private": true }' >package.json &&
    npm install --no-audit --no-fund --loglevel=error --no-package-lock node@24 >&2)
fi
"$bin" --version >/dev/null
echo "$bin"
