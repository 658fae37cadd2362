#!/usr/bin/env bash
# The README's main job: set up what is missing, then run TI's rpmsg_char_simple example
# (our port, unmodified hard-coded /dev and /sys paths) against the emulated default board,
# an AM62x whose M4F (rproc id 9) and R5F (15) run TI's IPC echo firmware.
# Extra arguments go to rpmsg_char_simple, e.g. scripts/demo.sh -r 15 -n 10.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/setup.sh"
if [ "$#" -eq 0 ]; then
    set -- -r 9
fi
exec "$repo/.venv/bin/rpmsg-emu" run -- "$repo/.venv/bin/rpmsg_char_simple" "$@"
