#!/usr/bin/env bash
# Create .venv and install the project with its dev tools at the versions constraints.txt pins;
# reinstall only when pyproject.toml or constraints.txt changes. Sourced by serve.sh and test.sh,
# so both work on a fresh machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.stamp-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'
  rm -f .venv/.stamp-*
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
