#!/usr/bin/env bash
# Fuzz the live API with schemathesis against its own OpenAPI document: a fresh SQLite instance
# database in a temp dir, migrated and loaded, a token holding every scope, gunicorn on a free
# port. Fails on any server error or any response the document does not describe.
# Bounded (SCHEMATHESIS_MAX_TIME, default 150 s) and reproducible (fixed seed, deterministic).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL="sqlite:///$work/assessment.sqlite3"
export DEV_PLATFORM=0 LOG_LEVEL=WARNING
# One client sends thousands of requests a minute: without this, most would meet the per-client
# limit's 429 (documented, so not a failure) instead of reaching the operation. The limit itself
# is tested in tests/test_api_rate_limit.py.
export API_RATE_LIMIT=""
assessment db upgrade >/dev/null
assessment content load >/dev/null
# An awarding-body client holding every scope, so every operation is reached.
every_scope=$(python -c "from service.client_vocabulary import SCOPES; print(' '.join('--scope ' + s for s in SCOPES))")
# shellcheck disable=SC2086 # one word per option
created=$(assessment clients create --name schemathesis $every_scope)
client_id=$(sed -n 's/^client_id: //p' <<<"$created")
client_secret=$(sed -n 's/^client_secret: //p' <<<"$created")

port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
gunicorn --bind "127.0.0.1:$port" --workers 2 --log-level warning 'service.wsgi:app' &
server_pid=$!
for _ in $(seq 50); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

token=$(curl -fsS "$base/oauth/token" -d grant_type=client_credentials \
  -d "client_id=$client_id" -d "client_secret=$client_secret" |
  python -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

# Rotating or revoking a client revokes its tokens: schemathesis would do it to its own client
# (ids come from the client list) and get 401 for everything after. Those two operations are
# tested in tests/test_admin_api.py and tests/test_tenancy_walk.py instead.
schemathesis run "$base/openapi.json" \
  -H "Authorization: Bearer $token" \
  --phases "${SCHEMATHESIS_PHASES:-examples,coverage,fuzzing,stateful}" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" \
  --max-time "${SCHEMATHESIS_MAX_TIME:-150}" \
  --seed 20261128 --generation-deterministic \
  --request-timeout 10 --no-color \
  --exclude-path-regex '^/api/v1/admin/clients/[^/]+/(rotate|revoke)$' "$@"
