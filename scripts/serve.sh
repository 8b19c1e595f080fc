#!/usr/bin/env bash
# Set up, migrate, load the content and serve on http://127.0.0.1:${PORT:-5000}.
# Embedded default: a SQLite file in instance/. Set DATABASE_URL for PostgreSQL.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

# The development LMS at /dev-platform/ is for the embedded SQLite default only.
if [ -z "${DATABASE_URL:-}" ]; then
  export DEV_PLATFORM="${DEV_PLATFORM:-1}"
fi

assessment db upgrade
assessment content load
PORT=${PORT:-5000}
echo "Serving on http://127.0.0.1:${PORT}  (API docs: http://127.0.0.1:${PORT}/docs)"
echo "Try the LTI launch with the development platform: http://127.0.0.1:${PORT}/dev-platform/"
# No gunicorn access log: its request lines carry LTI query strings (user ids). The app logs
# one line per request itself, without query strings.
exec gunicorn --bind "127.0.0.1:${PORT}" --workers "${WEB_CONCURRENCY:-2}" 'service.wsgi:app'
