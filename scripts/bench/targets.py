"""What the benchmark can measure: a pluggable list of targets.

A target is a name, an optional daemon command that serves a fresh mount root, the relative path
that exists once the daemon serves, and a hook that turns the root into the device path the client
uses. The hook is where a target does its setup: the rpmsg-emu emulator, for instance, can create
an endpoint with an ioctl on `dev/rpmsg_ctrl0` and return the new `dev/rpmsgN`.
"""
from __future__ import annotations

import importlib.util
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rpmsg_setup import create_endpoint

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BASELINE = "c_echo_ll"
C_REMOTE = "c_echo_remote"
EMULATOR = "rpmsg_emu_echo"
EMULATOR_FAST = "rpmsg_emu_echo_fast"
EMULATOR_AT_TREE = "rpmsg_emu_echo_tree"
TREE_VARIABLE = "RPMSG_EMU_BENCH_TREE"
TREE_OPTIONS_VARIABLE = "RPMSG_EMU_BENCH_TREE_OPTIONS"
"""Options for that tree's `mount`, split as by a shell (e.g. "--timing fast")."""
"""A checkout of another revision (e.g. `git archive c31414d`, the in-kick remote, with the
built fusedev/_fuse_cffi.abi3.so copied in) measured as EMULATOR_AT_TREE beside this one."""
PIPE_DEVICE = "pipe:"  # echo_client forks a child that echoes through two pipes


def _always_available() -> str | None:
    return None


@dataclass(frozen=True)
class Target:
    """One thing to measure; `daemon` is None when the client needs no server (the pipe)."""

    name: str
    about: str
    daemon: Callable[[Path], list[str]] | None
    ready: str = "echo"
    device: Callable[[Path], str] | None = None
    unavailable: Callable[[], str | None] = field(default=_always_available)

    def device_path(self, root: Path) -> str:
        """The path the client opens, after any setup the target needs."""
        return self.device(root) if self.device else str(root / self.ready)


def _missing_module(name: str, hint: str) -> Callable[[], str | None]:
    return lambda: None if importlib.util.find_spec(name) else f"module {name} missing; {hint}"


def _missing_file(path: Path) -> Callable[[], str | None]:
    return lambda: None if path.exists() else f"{path.relative_to(REPO)} does not exist yet"


def emulator(name: str, about: str, *options: str,
             board_file: Callable[[Path], str] | None = None) -> Target:
    """`rpmsg-emu mount ROOT OPTIONS` (plus `--board FILE` written next to ROOT), its device an
    endpoint to address 14 on rpmsg_ctrl0 created by CREATE_EPT."""

    def daemon(root: Path) -> list[str]:
        argv = [sys.executable, "-m", "fusedev.cli", "mount", str(root), *options]
        if board_file is not None:
            board = root.with_suffix(".toml")
            board.write_text(board_file(root))
            argv += ["--board", str(board)]
        return argv

    return Target(name, about, daemon, ready="dev/rpmsg_ctrl0", device=create_endpoint)


def emulator_at_tree() -> Target:
    """rpmsg-emu mount as served by the tree in $RPMSG_EMU_BENCH_TREE (another revision)."""
    tree = os.environ.get(TREE_VARIABLE, "")

    def daemon(root: Path) -> list[str]:
        run = ("import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
               "runpy.run_module('fusedev.cli', run_name='__main__', alter_sys=True)")
        options = shlex.split(os.environ.get(TREE_OPTIONS_VARIABLE, ""))
        return [sys.executable, "-c", run, tree, "mount", str(root), *options]

    def unavailable() -> str | None:
        if not tree:
            return f"set {TREE_VARIABLE} to a checkout of the revision to compare"
        return None if (Path(tree) / "fusedev").is_dir() else f"{tree}: no fusedev"

    about = f"rpmsg-emu mount {os.environ.get(TREE_OPTIONS_VARIABLE, '')} as of ${TREE_VARIABLE} "
    return Target(EMULATOR_AT_TREE, about + f"({tree or 'unset'})",
                  daemon, ready="dev/rpmsg_ctrl0", device=create_endpoint, unavailable=unavailable)


def source_board(size: int, count: int) -> Callable[[Path], str]:
    """An AM62x board whose core 9 streams `count` messages of `size` bytes after a hello."""
    return lambda root: (f'soc = "AM62X"\n[cores.9]\nfirmware = "source"\n'
                         f"[cores.9.config]\nsize = {size}\ncount = {count}\n")


def default_targets(c_daemon: Path) -> list[Target]:
    """The baselines, our engine's toy echo device and the emulator; the C floor first (ratios
    refer to it)."""
    toy = REPO / "tests" / "toy_echo_fs.py"
    return [
        Target(BASELINE, "C libfuse3 low-level echo daemon: the FUSE floor",
               lambda root: [str(c_daemon), str(root)]),
        Target(C_REMOTE, "the same C daemon with each reply sent back by a second thread through "
               "a ring and eventfd kicks: the C floor of a remote that is another CPU",
               lambda root: [str(c_daemon), str(root), "--remote-thread"]),
        Target("pyfuse3_echo", "the same echo written with pyfuse3",
               lambda root: [sys.executable, str(HERE / "pyfuse3_echo.py"), str(root)],
               unavailable=_missing_module(
                   "pyfuse3", "install with RPMSG_EMU_EXTRAS=test,bench bash scripts/setup.sh")),
        Target("fusedev_toy_echo", "our engine (fusedev) serving tests/toy_echo_fs.py",
               lambda root: [sys.executable, str(toy), str(root)],
               unavailable=_missing_file(toy)),
        emulator(EMULATOR, "rpmsg-emu mount (AM62x): /dev/rpmsgN to the echo firmware, "
                 "with the M4F's modelled timing"),
        emulator(EMULATOR_FAST, "the same with --timing fast: no modelled delay, the reply "
                 "still from the core's own thread (the cost of asynchrony)", "--timing", "fast"),
        emulator_at_tree(),
        Target("pipe", "two pipes to a child process that echoes: the kernel IPC floor",
               None, device=lambda root: PIPE_DEVICE),
    ]
