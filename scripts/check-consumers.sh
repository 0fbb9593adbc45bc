#!/usr/bin/env bash
# Consumer check: packs the publishable packages with `pnpm pack` (which rewrites `workspace:^` ranges), checks each
# tarball's contents (no tests, the examples ship), installs the tarballs into a fresh project outside the workspace
# together with @tensorflow/tfjs-core, -layers and -backend-cpu 4.22 from the registry, type-checks an import of
# every package (moduleResolution nodenext, node16 and bundler, and a CommonJS file) and runs: a 20-step example per
# package (scripts/consumer-check/<package>.mjs); the tfjs-layers fit → save → load → fit round trip of our
# optimizers (save-load.mjs); models saved with tfjs's own optimizers, loaded with ours imported
# (tfjs-optimizers.mjs); require() from CommonJS (require.cjs); the examples shipped in the tarballs. It uses the
# `node` on PATH (.ci/run runs it on Node 20 and 24). Packages that do not exist yet are skipped.
# Usage: pnpm check:consumers [--keep]   (--keep leaves the temporary project for inspection)
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
root=$PWD
start=$(date +%s)
log() { printf '\033[1m[check-consumers]\033[0m %s\n' "$*"; }

candidates=(optim-core optim-lion optim-adam8bit datasets backends trainer sweep-queue)
packages=()
for p in "${candidates[@]}"; do [ -f "packages/$p/package.json" ] && [ -f "packages/$p/README.md" ] && packages+=("$p"); done
# The trainer's example needs backends (gradients), datasets and both contributed optimizers.
if [[ " ${packages[*]} " == *" trainer "* ]]; then
  for need in backends datasets optim-lion optim-adam8bit; do
    [[ " ${packages[*]} " == *" $need "* ]] || { log "trainer needs $need: skipping trainer"; packages=("${packages[@]/trainer/}"); break; }
  done
fi
log "packages: ${packages[*]} (node $(node --version))"

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
  if tests=$(grep -E '\.(test|spec)\.[cm]?[jt]sx?$|/__tests__/|^package/test/' <<<"$listing"); then
    echo "$tgz contains tests:" >&2
    echo "$tests" >&2
    exit 1
  fi
  if [ -d "packages/$p/examples" ]; then
    for f in $(cd "packages/$p" && git ls-files examples); do
      grep -qx "package/$f" <<<"$listing" || { echo "$tgz lacks $f (the README shows it)" >&2; exit 1; }
    done
  fi
  tarballs+=("$tgz")
done

log "installing into $tmp/app (npm, outside the workspace)"
mkdir -p "$tmp/app"
cp scripts/consumer-check/*.mjs scripts/consumer-check/*.cjs "$tmp/app/"
cat >"$tmp/app/package.json" <<'JSON'
{ "name": "gradsign-consumer-check", "private": true, "type": "module" }
JSON
(cd "$tmp/app" && npm install --no-audit --no-fund --loglevel=error --no-package-lock \
  @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-layers@4.22.0 @tensorflow/tfjs-backend-cpu@4.22.0 "${tarballs[@]}" >/dev/null)
# Node users do not get the WebGL backend: it is an optional peer of @gradsign/backends.
if [ -e "$tmp/app/node_modules/@tensorflow/tfjs-backend-webgl" ]; then
  echo "@tensorflow/tfjs-backend-webgl was installed for a Node project: $(cd "$tmp/app" && npm ls @tensorflow/tfjs-backend-webgl)" >&2
  exit 1
fi
names=()
for p in "${packages[@]}"; do [ -n "$p" ] && names+=("\"@gradsign/$p\""); done
(IFS=,; echo "{ \"packages\": [${names[*]}] }") >"$tmp/app/packages.json"

log "type-checking the published declarations (tsc, strict: nodenext + a CommonJS file, node16, bundler)"
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
{
  for p in "${packages[@]}"; do [ -n "$p" ] && echo "import m_${p//-/_} = require('@gradsign/$p');"; done
  echo "export const loaded = ["
  for p in "${packages[@]}"; do [ -n "$p" ] && echo "  m_${p//-/_},"; done
  echo "];"
  echo "export const core: typeof import('@gradsign/optim-core').GradSign = m_optim_core.GradSign;"
} >"$tmp/app/consumer-cjs.cts"
typecheck() { # name module moduleResolution files...
  local name=$1 module=$2 resolution=$3
  shift 3
  local files
  files=$(printf '"%s",' "$@")
  cat >"$tmp/app/tsconfig.$name.json" <<JSON
{
  "compilerOptions": {
    "target": "ES2022", "module": "$module", "moduleResolution": "$resolution", "strict": true, "noEmit": true,
    "lib": ["ES2022", "DOM"], "types": [], "skipLibCheck": true
  },
  "files": [${files%,}]
}
JSON
  (cd "$tmp/app" && "$root/node_modules/.bin/tsc" -p "tsconfig.$name.json")
}
typecheck nodenext NodeNext NodeNext consumer.ts consumer-cjs.cts
typecheck node16 Node16 Node16 consumer.ts
typecheck bundler ESNext Bundler consumer.ts

quiet() { grep -v -e '^=*$' -e 'Hi, looks like you are running TensorFlow.js' -e 'tfjs-node' || true; }
log "running the examples"
for p in "${packages[@]}"; do
  [ -n "$p" ] && [ -f "$tmp/app/$p.mjs" ] || continue
  (cd "$tmp/app" && node "$p.mjs" 2>&1 | quiet)
done
has() { [[ " ${packages[*]} " == *" $1 "* ]]; }
if has optim-core && has optim-lion && has optim-adam8bit; then
  log "tfjs-layers: fit → save (includeOptimizer) → tf.loadLayersModel → fit"
  (cd "$tmp/app" && node save-load.mjs 2>&1 | quiet)
  if has backends && has datasets && has trainer; then
    log "models saved with tfjs's own optimizers, loaded with every package of ours imported"
    (cd "$tmp/app" && node tfjs-optimizers.mjs 2>&1 | quiet)
  fi
fi
log "require() from a CommonJS file"
(cd "$tmp/app" && node require.cjs 2>&1 | quiet)
log "the examples shipped in the tarballs"
for example in optim-core/examples/quickstart.mjs optim-core/examples/save-load.mjs \
  optim-lion/examples/quickstart.mjs optim-adam8bit/examples/quickstart.mjs; do
  has "${example%%/*}" || continue
  (cd "$tmp/app" && node "node_modules/@gradsign/$example" 2>&1 | quiet | tail -1 | sed "s|^|$example: |")
done
log "ok in $(($(date +%s) - start)) s"
