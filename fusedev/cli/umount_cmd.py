"""`rpmsg-emu umount DIR`: stop the daemon serving DIR as SIGTERM does, then make sure DIR is free.

An unmount alone cannot stop a daemon whose files are still open: a lazy unmount only hides
the mount, and the kernel ends the FUSE connection when the last open file goes — a reader
blocked in read() keeps it alive forever, and the daemon with it. So `umount` asks the daemon
itself to stop: it reads the daemon's pid from `sys/kernel/debug/rpmsg_emu/daemon` and sends
SIGTERM. The daemon then stops its cores (blocked readers get EPIPE, as on a board when the
remote processor goes away) and unmounts. A mount left by a killed daemon, or a daemon that
does not stop in time, is lazily unmounted instead.
"""
from __future__ import annotations

import errno
import logging
import os
import signal
import threading
import time
from pathlib import Path

from fusedev.fuse import mountpoint
from fusedev.kernel.emu_debugfs import DAEMON_FILE, parse_daemon_file

log = logging.getLogger(__name__)

READ_TIMEOUT = 5.0  # a daemon that cannot answer one read in this time is not going to stop
STOP_TIMEOUT = 15.0  # SIGTERM to unmounted, on a loaded machine


def umount(path: Path) -> None:
    """Stop the rpmsg-emu daemon at `path` and unmount it; NotOurMount, OSError."""
    real = mountpoint.rpmsg_emu_mount(path)
    if mountpoint.is_stale(Path(real)):
        log.info("%s: the daemon is gone; unmounting", real)
        mountpoint.detach(Path(real))
        return
    pid = daemon_pid(real)
    if pid is not None and _stop(pid, real):
        return
    log.info("%s: unmounting lazily", real)
    mountpoint.detach(Path(real))


def daemon_pid(real: str) -> int | None:
    """The pid in the mount's daemon file, if it belongs to whoever mounted it."""
    text = _read_with_timeout(os.path.join(real, DAEMON_FILE))
    if text is None:
        return None
    try:
        pid = int(parse_daemon_file(text)["pid"])
        owner = os.stat(f"/proc/{pid}").st_uid
    except (KeyError, ValueError, OSError):
        return None
    # Only the mounter's own process: a mount must not make us signal someone else's.
    return pid if owner == mountpoint.mount_owner(real) else None


def _read_with_timeout(path: str) -> str | None:
    """Read a small file of the mount from a helper thread: a hung daemon never answers."""
    result: list[str] = []

    def read() -> None:
        try:
            with open(path, encoding="utf-8") as file:
                result.append(file.read())
        except OSError as exc:
            log.info("%s: %s", path, exc.strerror)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(READ_TIMEOUT)
    return result[0] if result else None


def _stop(pid: int, real: str) -> bool:
    """SIGTERM the daemon; True once its mount is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    except PermissionError:
        raise OSError(errno.EPERM, f"not allowed to stop the daemon (pid {pid}) of {real}")
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if real not in mountpoint.fuse_mounts():
            return True
        time.sleep(0.05)
    log.warning("%s: daemon %d did not stop in %.0f s", real, pid, STOP_TIMEOUT)
    return False
