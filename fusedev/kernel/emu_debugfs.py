"""`/sys/kernel/debug/rpmsg_emu/daemon`: who serves this tree, for `umount` and `status`.

Our own debugfs directory (next to `trace_pipe`) holds what no real kernel file says: the
pid of the daemon serving the mount and the board it emulates, as `key value` lines:

    pid 4242
    board am62x

`rpmsg-emu umount` reads the pid to stop the daemon as SIGTERM does; `rpmsg-emu status`
shows both. The rest of what status shows comes from sysfs, as on a board.
"""
from __future__ import annotations

import os

from kernel_cfg import Board

from fusedev.fuse.vfs import Directory

DAEMON_FILE = "sys/kernel/debug/rpmsg_emu/daemon"


def add_daemon_file(root: Directory, board: Board) -> None:
    """Add the file; the pid is read at each open, so it stays right after a fork."""
    directory, _, name = DAEMON_FILE.rpartition("/")
    root.makedirs(directory).attribute(
        name, lambda: f"pid {os.getpid()}\nboard {board.name}\n", mode=0o444)


def parse_daemon_file(text: str) -> dict[str, str]:
    """The file's `key value` lines as a dict."""
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
