#!/usr/bin/env bash
# Print a bearer token for one of the demo's API clients (after scripts/serve.sh made them):
#   TOKEN=$(bash scripts/demo-token.sh northgate)   # or southbank, eqa, admin
#   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:5000/api/v1/attempts
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
key=${1:?"which client: northgate, southbank, eqa or admin"}
credentials=${DEMO_CREDENTIALS:-instance/demo-credentials.json}
python3 - "$credentials" "$key" <<'PY'
import base64, json, sys, urllib.parse, urllib.request

document = json.load(open(sys.argv[1]))
client = next((c for c in document["clients"] if c["key"] == sys.argv[2]), None)
if client is None:
    sys.exit(f"no demo client {sys.argv[2]!r}: " + ", ".join(c["key"] for c in document["clients"]))
basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
request = urllib.request.Request(
    document["token_url"],
    data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
    headers={"Authorization": f"Basic {basic}"},
)
print(json.load(urllib.request.urlopen(request))["access_token"])
PY
