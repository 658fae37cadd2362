"""`rpmsg-emu mount DIR`: serve a board until Ctrl-C, SIGTERM or an unmount.

Runs in this process (`--daemon` has already forked, fusedev/cli/readiness.py); once the board is
ready it prints the banner and tells whoever asked (pidfile, --ready-fd, sd_notify).

Everything printed is computed from the in-memory tree, never by reading DIR (not even an
lstat of DIR itself, as os.path.realpath does): the trio loop that would answer is this thread.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from functools import partial
from pathlib import Path

import trio

from fusedev.cli.daemon import STOP_SIGNALS
from fusedev.cli.emulator import Emulator
from fusedev.cli.readiness import Readiness, detach_output
from fusedev.fuse.vfs import Directory

log = logging.getLogger(__name__)

READY = "rpmsg-emu: serving"  # first line of the banner printed once the tree is usable


class _OnReady:
    """Stands in for trio's TaskStatus: `Emulator.serve` calls `started()` once booted."""

    def __init__(self, emu: Emulator, mount_dir: Path, readiness: Readiness,
                 background: bool, log_file: Path | None) -> None:
        self.emu, self.mount_dir = emu, mount_dir
        self.readiness, self.background, self.log_file = readiness, background, log_file

    def started(self, value: None = None) -> None:
        print(usage(self.emu, self.mount_dir), flush=True)
        self.readiness.ready()
        if self.background:
            detach_output(self.log_file)


async def serve_foreground(emu: Emulator, mount_dir: Path, *, allow_other: bool = False,
                           readiness: Readiness | None = None, background: bool = False,
                           log_file: Path | None = None) -> None:
    """Serve until a stop signal or an unmount from outside.

    The signal watcher starts before the mount: a SIGTERM while the board boots (the boot
    settle takes up to BOOT_SETTLE_TIMEOUT) stops it at once, as it does later.
    """
    mount_dir = Path(os.path.realpath(mount_dir))  # now: once mounted, lstat would ask us
    readiness = readiness or Readiness()
    with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
        async with trio.open_nursery() as nursery:

            async def watch_signals() -> None:
                async for signum in signals:
                    log.info("%s: unmounting %s", signal.Signals(signum).name, mount_dir)
                    readiness.stopping()
                    emu.close()
                    return

            nursery.start_soon(watch_signals)
            # Returns on close() and also when DIR is unmounted from outside.
            await emu.serve(mount_dir, allow_other=allow_other,
                            task_status=_OnReady(emu, mount_dir, readiness, background,
                                                 log_file))
            nursery.cancel_scope.cancel()


def usage(emu: Emulator, mount_dir: Path) -> str:
    """What is emulated at `mount_dir` (a real path) and how programs reach it."""
    dev = emu.root.lookup("dev")
    nodes = sorted(dev.children) if isinstance(dev, Directory) else []
    rproc = next(iter(emu.board.cores), 9)
    examples = [
        (f"rpmsg_char_simple --root {mount_dir} -r {rproc}", "TI's example (our port)"),
        (f"RPMSG_CHAR_ROOT={mount_dir} your-program", "programs using rpmsg_char"),
        (f"rpmsg-emu trace {mount_dir}", "watch the messages"),
        ("rpmsg-emu run -- your-program", "hard-coded /dev and /sys paths"),
    ]
    width = max(len(command) for command, _ in examples)
    return "\n".join([
        f"{READY} board {emu.board.name} at {mount_dir} (pid {os.getpid()})",
        emu.describe(),
        "device nodes: " + (" ".join(f"{mount_dir}/dev/{n}" for n in nodes) or "none yet"),
        "use it:",
        *(f"  {command:<{width}}  # {why}" for command, why in examples),
        f"stop with Ctrl-C, kill {os.getpid()}, or rpmsg-emu umount {mount_dir}",
    ])


def mount(emu: Emulator, mount_dir: Path, *, allow_other: bool = False,
          readiness: Readiness | None = None, background: bool = False,
          log_file: Path | None = None) -> int:
    """Run the daemon; exit status 0 after a clean stop."""
    readiness = readiness or Readiness()
    try:
        trio.run(partial(serve_foreground, emu, mount_dir, allow_other=allow_other,
                         readiness=readiness, background=background, log_file=log_file))
    finally:
        readiness.close()
    print(f"rpmsg-emu: unmounted {mount_dir}", file=sys.stderr)
    return 0
