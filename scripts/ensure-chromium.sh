#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (/usr/bin/chromium) with playwright-core; playwright's own browser
# download cannot work offline. Installs it with apt when it is missing and we are root.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  printf '\033[1m[setup]\033[0m installing chromium (Debian package) for the browser tests\n'
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "The browser tests need Chromium at /usr/bin/chromium. Install it (Debian/Ubuntu: sudo apt-get install chromium)" >&2
echo "and run this command again." >&2
exit 1
