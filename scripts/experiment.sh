#!/usr/bin/env bash
# The main job: sets up a fresh clone if needed, then runs the GradSign example.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
node packages/optim-core/examples/quickstart.mjs "$@"
