#!/usr/bin/env bash
# Benchmark: install what is missing (with the bench extra: pyfuse3 for its baseline), then run
# the harness. Arguments go to scripts/bench/run_bench.py (see --help); results land in
# bench-results/results.json unless --out says otherwise.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RPMSG_EMU_EXTRAS="${RPMSG_EMU_EXTRAS:-test,bench}" "$repo/scripts/setup.sh"
cd "$repo"
exec "$repo/.venv/bin/python" "$repo/scripts/bench/run_bench.py" "$@"
