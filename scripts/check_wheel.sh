#!/usr/bin/env bash
# What CI checks of the package a user installs: build the manylinux wheel (scripts/wheel.sh),
# install it into a clean virtual environment outside the repository, check that its FUSE
# binding loads the libfuse3 bundled in the wheel, run TI's example against the emulated
# board from there, and run some of the sdist's own tests against the installed wheel.
#
#   scripts/check_wheel.sh [-o OUTDIR] [--all-tests]   (default OUTDIR: /tmp/rpmsg-emu-wheel)
#
# --all-tests runs the sdist's whole test suite against the wheel instead of a few files
# (about two minutes more). Needs root or unprivileged user namespaces (for `rpmsg-emu run`)
# and /dev/fuse, like the test suite. Takes about a minute; prints its duration at the end.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=/tmp/rpmsg-emu-wheel
tests=(tests/test_package.py tests/test_rpmsg_char_emulated.py tests/test_rpmsg_char_helper.py tests/test_kernel_cfg_kconfig.py
       tests/test_ti_library_walk.py tests/test_remote_firmware.py)
while [ "$#" -gt 0 ]; do
    case "$1" in
        -o) out=$2; shift 2 ;;
        --all-tests) tests=(tests); shift ;;
        -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
binding=$("$venv/bin/python" -c 'import fusedev.fuse._fuse_cffi as m; print(m.__file__)')
case "$binding" in "$venv"/*) ;; *) fail "the binding came from $binding, not the venv" ;; esac
libfuse=$(ldd "$binding" | awk '/libfuse3/ {print $3}')
case "$libfuse" in
    "$venv"/*/rpmsg_emu.libs/libfuse3-*) say "the binding loads the bundled $(basename "$libfuse")" ;;
    *) fail "the binding loads libfuse3 from '$libfuse', not from the wheel" ;;
esac
rings=$("$venv/bin/python" -c 'import remote_fw._vring_cffi as m; print(m.__file__)')
case "$rings" in "$venv"/*) ;; *) fail "remote_fw's ring module came from $rings, not the venv" ;; esac
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
unpacked=$(echo "$out"/sdist/rpmsg_emu-*)
# From a directory outside the sources, with `pytest` rather than `python -m pytest`: neither
# pytest nor the tests' own `python -m fusedev.cli` may find the unpacked sources (which have
# no compiled binding) before the installed package.
cd "$out/cwd"
"$venv/bin/pytest" -q -p no:cacheprovider -c "$unpacked/setup.cfg" --rootdir "$unpacked" \
    "${tests[@]/#/$unpacked/}" || fail "the sdist's tests"

say "passed in $((SECONDS - started)) s: $(basename "$wheel")"
