#!/usr/bin/env bash
# The project's test command: sets up a fresh clone if needed, then runs lint, typecheck and every test suite.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/ensure-chromium.sh
printf '\033[1m[test]\033[0m lint\n'
pnpm lint
printf '\033[1m[test]\033[0m typecheck\n'
pnpm typecheck --output-logs=errors-only
printf '\033[1m[test]\033[0m tests\n'
pnpm test
printf '\033[1m[test]\033[0m the optimizer generator\n'
bash scripts/check-generator.sh
printf '\033[1m[test]\033[0m packed packages installed outside the workspace\n'
bash scripts/check-consumers.sh
