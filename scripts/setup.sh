#!/usr/bin/env bash
# Install what rpmsg-emu needs, idempotently: system packages (fuse3, libfuse3-dev,
# pkg-config, gcc), a virtual environment at .venv, and the package (editable) in it.
# Safe to run again and again; it only does what is missing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$repo/.venv"
extras="${RPMSG_EMU_EXTRAS:-test}"
need_pkgs=(fuse3 libfuse3-dev pkg-config gcc)

say() { printf 'setup: %s\n' "$*" >&2; }

missing_system_packages() {
    local missing=()
    if command -v dpkg-query >/dev/null 2>&1; then
        local p
        for p in "${need_pkgs[@]}"; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
        done
    else
        command -v fusermount3 >/dev/null || missing+=(fuse3)
        pkg-config --exists fuse3 2>/dev/null || missing+=(libfuse3-dev)
        command -v pkg-config >/dev/null || missing+=(pkg-config)
        command -v gcc >/dev/null || missing+=(gcc)
    fi
    printf '%s\n' "${missing[@]}"
}

install_system_packages() {
    local missing
    mapfile -t missing < <(missing_system_packages | sed '/^$/d')
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq || apt-get update
        apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        say "missing system packages: ${missing[*]}"
        say "install them first, e.g.: sudo apt-get install ${missing[*]}"
        exit 1
    fi
}

check_fuse_device() {
    if [ ! -c /dev/fuse ]; then
        say "/dev/fuse is missing: load the fuse module (modprobe fuse) or run where FUSE is available"
        exit 1
    fi
}

. "$repo/scripts/pick_python.sh"

install_package() {
    if [ ! -x "$venv/bin/python" ]; then
        say "creating virtual environment at $venv"
        "$(pick_python)" -m venv "$venv"
    fi
    # Reinstall only when the packaging inputs changed or the extension is missing.
    local stamp="$venv/.rpmsg-emu-installed" want
    # The C sources of the cffi modules: their build scripts and any .c file beside them.
    want=$(cat "$repo/setup.cfg" "$repo/setup.py" "$repo/pyproject.toml" "$repo/fusedev/fuse/fuse_build.py" "$repo/remote_fw/vring_build.py" \
        $(find "$repo/fusedev/fuse" "$repo/remote_fw" -maxdepth 1 -name '*.c' | sort) | sha256sum | cut -d' ' -f1)-$extras
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
        "$venv/bin/python" -c 'import fusedev.fuse._fuse_cffi, remote_fw._vring_cffi' 2>/dev/null; then
        return 0
    fi
    say "installing rpmsg-emu into $venv (editable, extras: $extras)"
    "$venv/bin/python" -m pip install -q --upgrade pip setuptools wheel cffi
    "$venv/bin/python" -m pip install -q -e "$repo[$extras]"
    echo "$want" > "$stamp"
}

install_system_packages
check_fuse_device
install_package
say "ready: $venv"
