"""Compile the C baseline daemon and the C client into a scratch directory.

Built at run time with the system compiler and libfuse3 so the floor is measured with this
machine's own toolchain and library; binaries never live in the repository.
"""
from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _fuse_flags() -> list[str]:
    out = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"], check=True,
                         capture_output=True, text=True).stdout
    return shlex.split(out)


def compile_c(source: str, out_dir: Path, with_fuse: bool) -> Path:
    """Compile scripts/bench/SOURCE with gcc -O2; returns the executable's path."""
    src = HERE / source
    exe = out_dir / src.stem
    argv = ["gcc", "-O2", "-Wall", "-o", str(exe), str(src)]
    if with_fuse:
        argv += _fuse_flags()
    subprocess.run(argv, check=True)
    return exe


def build_all(out_dir: Path) -> tuple[Path, Path]:
    """The C echo daemon and the echo client, in that order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return compile_c("c_echo_ll.c", out_dir, True), compile_c("echo_client.c", out_dir, False)
