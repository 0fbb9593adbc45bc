#!/usr/bin/env bash
# The sweep-queue tests start their own redis-server (Debian's package, Redis 7) on a free loopback port. Installs
# it with apt when it is missing and we are root.
set -euo pipefail
if command -v redis-server >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # (to stderr: the benchmark harness keeps a bench's stdout as its report)
  printf '\033[1m[setup]\033[0m installing redis-server (Debian package) for the sweep-queue tests\n' >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # The package may start a system service; the tests start their own servers and do not need it.
  exit 0
fi
echo "The sweep-queue tests need redis-server (Redis 7). Install it (Debian/Ubuntu: sudo apt-get install redis-server)" >&2
echo "and run this command again." >&2
exit 1
