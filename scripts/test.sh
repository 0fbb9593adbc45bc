#!/usr/bin/env bash
# The project's test command: sets up a fresh clone if needed, then runs lint, typecheck and every test suite.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/ensure-chromium.sh
bash scripts/ensure-redis.sh
printf '\033[1m[test]\033[0m lint\n'
pnpm lint
printf '\033[1m[test]\033[0m typecheck\n'
pnpm typecheck --output-logs=errors-only
printf '\033[1m[test]\033[0m tests\n'
find packages apps -maxdepth 2 -name .test-results.json -delete
# One package at a time (the suites time nothing, but the browser and training tests are heavy on 2 cores).
pnpm exec turbo run test --concurrency=1 --output-logs=new-only -- \
  --reporter=default --reporter=json --outputFile.json=.test-results.json
printf '\033[1m[test]\033[0m the optimizer generator\n'
bash scripts/check-generator.sh
printf '\033[1m[test]\033[0m packed packages installed outside the workspace\n'
bash scripts/check-consumers.sh
printf '\033[1m[test]\033[0m the release: changeset version in a temporary copy, manifests, README links\n'
bash scripts/check-release.sh
printf '\033[1m[test]\033[0m API reference (typedoc, undocumented exports fail)\n'
# `pnpm run docs`: a bare `pnpm docs` is pnpm's own command (it opens the package's page on npmjs.com).
pnpm run docs
node scripts/test-summary.mjs
