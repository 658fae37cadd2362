#!/usr/bin/env bash
# What CI checks of the package a user installs: build the manylinux wheel (scripts/wheel.sh),
# install it into a clean virtual environment outside the repository, check that its FUSE
# binding loads the libfuse3 bundled in the wheel, run TI's example against the emulated
# board from there, and run some of the sdist's own tests against the installed wheel.
#
#   scripts/check_wheel.sh [-o OUTDIR]   (default OUTDIR: /tmp/rpmsg-emu-wheel)
#
# Needs root or unprivileged user namespaces (for `rpmsg-emu run`) and /dev/fuse, like the
# test suite. Takes about a minute; prints its duration at the end.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=/tmp/rpmsg-emu-wheel
while [ "$#" -gt 0 ]; do
    case "$1" in
        -o) out=$2; shift 2 ;;
        -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "check_wheel: unknown option $1" >&2; exit 2 ;;
    esac
done

say() { printf 'check_wheel: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
started=$SECONDS

wheel=$(bash "$repo/scripts/wheel.sh" -o "$out" | tail -n 1)
sdist=$(ls "$out"/dist/*.tar.gz)
python=$("$out/tools/bin/python" -c 'import sys; print(sys._base_executable)')

venv="$out/venv"
rm -rf "$venv" "$out/sdist" "$out/cwd"
say "installing $(basename "$wheel") into a clean venv at $venv"
"$python" -m venv "$venv"
# Only wheels: nothing may be compiled on the way in.
"$venv/bin/python" -m pip install -q --only-binary=:all: "$wheel[test]" ||
    fail "pip install of the wheel"

mkdir -p "$out/cwd"
cd "$out/cwd"   # nothing of the repository on sys.path
binding=$("$venv/bin/python" -c 'import fusedev._fuse_cffi as m; print(m.__file__)')
case "$binding" in "$venv"/*) ;; *) fail "the binding came from $binding, not the venv" ;; esac
libfuse=$(ldd "$binding" | awk '/libfuse3/ {print $3}')
case "$libfuse" in
    "$venv"/*/rpmsg_emu.libs/libfuse3-*) say "the binding loads the bundled $(basename "$libfuse")" ;;
    *) fail "the binding loads libfuse3 from '$libfuse', not from the wheel" ;;
esac
[ "$("$venv/bin/rpmsg-emu" --version)" = "rpmsg-emu $("$venv/bin/python" -c \
    'import importlib.metadata as m; print(m.version("rpmsg-emu"))')" ] || fail "rpmsg-emu --version"

say "rpmsg-emu run -- rpmsg_char_simple -r 9 (from the installed wheel)"
PATH="$venv/bin:$PATH" rpmsg-emu run -- rpmsg_char_simple -r 9 > "$out/simple.log" 2>&1 || {
    cat "$out/simple.log" >&2; fail "rpmsg-emu run -- rpmsg_char_simple -r 9"; }
tail -n 1 "$out/simple.log" | grep -qx 'TEST STATUS: PASSED' || {
    cat "$out/simple.log" >&2; fail "rpmsg_char_simple did not pass"; }

say "running tests of the sdist against the installed wheel"
mkdir -p "$out/sdist"
tar -C "$out/sdist" -xzf "$sdist"
cd "$out/sdist"/rpmsg_emu-*
# `pytest`, not `python -m pytest`: the unpacked sources must not shadow the installed package.
"$venv/bin/pytest" -q -p no:cacheprovider tests/test_rpmsg_char_emulated.py \
    tests/test_kernel_cfg_kconfig.py tests/test_ti_library_walk.py tests/test_remote_firmware.py ||
    fail "the sdist's tests"

say "passed in $((SECONDS - started)) s: $(basename "$wheel")"
