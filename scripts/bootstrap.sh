#!/usr/bin/env bash
# Sets up a fresh clone: checks Node, installs the pinned pnpm if needed, installs dependencies from the lockfile
# (npm registry only) and builds every package. Safe to run again; later runs are quick.
set -euo pipefail
cd "$(dirname "$0")/.."

export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

node_version=$(node -p 'process.versions.node' 2>/dev/null || true)
if [ -z "$node_version" ]; then
  echo "Node.js 20.19 or newer is required (https://nodejs.org)." >&2
  exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "Node.js 20.19 or newer is required; this is $node_version." >&2
  exit 1
fi

pnpm_wanted=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_wanted" ]; then
  log "installing pnpm $pnpm_wanted"
  npm install -g "pnpm@$pnpm_wanted" >/dev/null 2>&1 ||
    COREPACK_INTEGRITY_KEYS=0 corepack prepare "pnpm@$pnpm_wanted" --activate
fi

log "installing dependencies (pnpm $(pnpm --version), frozen lockfile)"
pnpm install --frozen-lockfile

log "building packages"
pnpm build --output-logs=errors-only
