#!/usr/bin/env bash
# Set up and run the whole test suite. TEST_DATABASE_URL=postgresql+psycopg://... runs it on
# PostgreSQL instead of SQLite. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

# Browser tests drive Debian's Chromium with Playwright; no tool downloads its own browser.
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi

python -m pytest "$@"
