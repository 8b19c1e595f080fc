#!/usr/bin/env bash
# Set up, migrate, load the content and serve on http://127.0.0.1:${PORT:-5000}, with one
# grade passback worker (`assessment worker`) beside the server.
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
# The demo (embedded default only): two centres with graded learners, an external verifier and
# an API client for each; their credentials go to instance/demo-credentials.json.
if [ -z "${DATABASE_URL:-}" ]; then
  assessment demo create --base-url "http://127.0.0.1:${PORT}"
fi
echo "Serving on http://127.0.0.1:${PORT}  (API docs: http://127.0.0.1:${PORT}/docs)"
echo "Try the LTI launch with the development platform: http://127.0.0.1:${PORT}/dev-platform/"
# One grade passback worker beside the server, so scores queued by submits and marks reach the
# LMS gradebook with nothing else started. It stops with the server; what it had not sent stays
# queued in the database (a row it was sending is sent again once its lease runs out).
assessment worker &
worker_pid=$!
server_pid=
stop() {
  trap - EXIT INT TERM
  kill -TERM ${server_pid:+"$server_pid"} "$worker_pid" 2>/dev/null || true
  wait || true
}
trap stop EXIT INT TERM
# No gunicorn access log: its request lines carry LTI query strings (user ids). The app logs
# one line per request itself, without query strings.
gunicorn --bind "127.0.0.1:${PORT}" --workers "${WEB_CONCURRENCY:-2}" 'service.wsgi:app' &
server_pid=$!
wait "$server_pid"
