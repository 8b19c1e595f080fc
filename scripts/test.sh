#!/usr/bin/env bash
# Set up and run the whole test suite. TEST_DATABASE_URL=postgresql+psycopg://... runs it on
# PostgreSQL instead of SQLite. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

python -m pytest "$@"
