#!/usr/bin/env bash
# Regenerate constraints.txt: install pyproject.toml's ranges (with dev tools) into a throwaway
# virtual environment and record the exact versions pip chose. Run after changing a dependency.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e '.[dev]'
{
  echo "# Exact versions every install uses: scripts/setup.sh, CI (.ci/run) and the Dockerfile install"
  echo "# with 'pip install -c constraints.txt'. pyproject.toml keeps the ranges; regenerate this file"
  echo "# with: bash scripts/lock.sh"
  "$venv/bin/python" -m pip freeze --exclude-editable
} > constraints.txt
echo "constraints.txt written"
