#!/usr/bin/env bash
# The README's test command: set up what is missing, then run the whole test suite.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/setup.sh"
cd "$repo"
exec "$repo/.venv/bin/python" -m pytest "$@"
