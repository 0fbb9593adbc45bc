#!/usr/bin/env bash
# Consumer check: packs the publishable packages with `pnpm pack` (which rewrites `workspace:^` ranges), installs
# the tarballs into a fresh project outside the workspace together with @tensorflow/tfjs-core and
# @tensorflow/tfjs-backend-cpu from the registry, type-checks an import of every package and runs a 20-step
# example per package (scripts/consumer-check/*.mjs). Packages that do not exist yet are skipped.
# Usage: pnpm check:consumers [--keep]   (--keep leaves the temporary project for inspection)
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
root=$PWD
start=$(date +%s)
log() { printf '\033[1m[check-consumers]\033[0m %s\n' "$*"; }

candidates=(optim-core optim-lion optim-adam8bit datasets backends trainer)
packages=()
for p in "${candidates[@]}"; do [ -f "packages/$p/package.json" ] && packages+=("$p"); done
# The trainer's example needs backends (gradients), datasets and both contributed optimizers.
if [[ " ${packages[*]} " == *" trainer "* ]]; then
  for need in backends datasets optim-lion optim-adam8bit; do
    [[ " ${packages[*]} " == *" $need "* ]] || { log "trainer needs $need: skipping trainer"; packages=("${packages[@]/trainer/}"); break; }
  done
fi
log "packages: ${packages[*]}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gradsign-consumer.XXXXXX")
if [ "${1:-}" = "--keep" ]; then log "keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi

filters=()
for p in "${packages[@]}"; do [ -n "$p" ] && filters+=("--filter=@gradsign/$p"); done
log "building"
node_modules/.bin/turbo run build "${filters[@]}" --output-logs=errors-only >/dev/null

log "packing"
mkdir -p "$tmp/tarballs"
tarballs=()
for p in "${packages[@]}"; do
  [ -n "$p" ] || continue
  (cd "packages/$p" && pnpm pack --pack-destination "$tmp/tarballs" >/dev/null)
  tgz=$(ls -t "$tmp"/tarballs/gradsign-"$p"-*.tgz | head -1)
  manifest=$(tar -xOzf "$tgz" package/package.json)
  if grep -q '"workspace:' <<<"$manifest"; then
    echo "$tgz still has workspace: ranges" >&2
    exit 1
  fi
  listing=$(tar -tzf "$tgz")
  for f in dist/index.js dist/index.d.ts README.md LICENSE; do
    grep -qx "package/$f" <<<"$listing" || { echo "$tgz lacks $f" >&2; exit 1; }
  done
  tarballs+=("$tgz")
done

log "installing into $tmp/app (npm, outside the workspace)"
mkdir -p "$tmp/app"
cp scripts/consumer-check/*.mjs "$tmp/app/"
cat >"$tmp/app/package.json" <<'JSON'
{ "name": "gradsign-consumer-check", "private": true, "type": "module" }
JSON
(cd "$tmp/app" && npm install --no-audit --no-fund --loglevel=error --no-package-lock \
  @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-backend-cpu@4.22.0 "${tarballs[@]}" >/dev/null)

log "type-checking the published declarations (tsc, NodeNext, strict)"
{
  for p in "${packages[@]}"; do [ -n "$p" ] && echo "import * as m_${p//-/_} from '@gradsign/$p';"; done
  echo "export const loaded = ["
  for p in "${packages[@]}"; do [ -n "$p" ] && echo "  m_${p//-/_},"; done
  echo "];"
  [[ " ${packages[*]} " == *" optim-lion "* ]] &&
    echo "export const lion: import('@gradsign/optim-core').RegisteredOptimizer = new m_optim_lion.Lion({ stateFormat: 'float32' });"
  [[ " ${packages[*]} " == *" optim-adam8bit "* ]] &&
    echo "export const adam8bit: import('@gradsign/optim-core').Adam = new m_optim_adam8bit.Adam8bit();"
} >"$tmp/app/consumer.ts"
cat >"$tmp/app/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "noEmit": true,
    "lib": ["ES2022", "DOM"],
    "types": [],
    "skipLibCheck": true
  },
  "files": ["consumer.ts"]
}
JSON
(cd "$tmp/app" && "$root/node_modules/.bin/tsc" -p tsconfig.json)

log "running the examples"
for p in "${packages[@]}"; do
  [ -n "$p" ] || continue
  (cd "$tmp/app" && node "$p.mjs" 2>&1 | grep -v -e '^=*$' -e 'Hi, looks like you are running TensorFlow.js' -e 'tfjs-node')
done
log "ok in $(($(date +%s) - start)) s"
