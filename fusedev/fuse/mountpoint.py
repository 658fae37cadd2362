"""Mount point housekeeping: find and clear a mount left behind by a killed daemon.

A FUSE daemon killed with SIGKILL leaves its mount in place; every access then fails with
ENOTCONN. The next mount on the same directory detects that and detaches it first, so users
never have to run `fusermount3 -u` by hand.
"""
from __future__ import annotations

import ctypes
import errno
import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

MNT_DETACH = 2
FSNAME = "rpmsg-emu"  # the FUSE subtype: mounts show as fstype fuse.rpmsg-emu


def fuse_mounts() -> dict[str, str]:
    """Mount points of FUSE filesystems in this mount namespace → their fstype."""
    mounts: dict[str, str] = {}
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        for line in info:
            fields = line.split()
            sep = fields.index("-")
            fstype = fields[sep + 1]
            if fstype.startswith("fuse"):
                mounts[_unescape(fields[4])] = fstype
    return mounts


def mount_owner(path: str) -> int | None:
    """The uid that mounted the FUSE filesystem at `path` (its `user_id=` option), or None."""
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        for line in info:
            fields = line.split()
            sep = fields.index("-")
            if _unescape(fields[4]) == path and fields[sep + 1].startswith("fuse"):
                for option in fields[sep + 3].split(","):
                    if option.startswith("user_id="):
                        return int(option.removeprefix("user_id="))
    return None


class NotOurMount(Exception):
    """DIR is not served by rpmsg-emu; the text says what it is instead."""


def rpmsg_emu_mount(path: Path) -> str:
    """The real path of the rpmsg-emu mount at `path`; NotOurMount when it is not one."""
    real = os.path.realpath(path)
    fstype = fuse_mounts().get(real)
    if fstype != f"fuse.{FSNAME}":
        what = f"a {fstype} mount" if fstype else "not mounted"
        raise NotOurMount(f"{path} is not an rpmsg-emu mount ({what})")
    return real


def _unescape(field: str) -> str:
    return field.encode().decode("unicode_escape").encode("latin-1").decode()


def is_stale(path: Path) -> bool:
    """True when `path` is a mount whose daemon is gone (the kernel answers ENOTCONN).

    statfs is never answered from the kernel's cache, unlike stat, so it reaches the daemon.
    """
    try:
        os.statvfs(path)
    except OSError as exc:
        return exc.errno == errno.ENOTCONN
    return False


def detach(path: Path) -> None:
    """Lazily unmount `path`: umount2(MNT_DETACH) as root, else fusermount3 -uz."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.umount2(os.fsencode(path), MNT_DETACH) == 0:
            return
        err = ctypes.get_errno()
        if err != errno.EPERM:
            raise OSError(err, f"umount {path}: {os.strerror(err)}")
    tool = shutil.which("fusermount3") or shutil.which("fusermount")
    if tool is None:
        raise OSError(errno.ENOENT, "fusermount3 not found (apt-get install fuse3)")
    result = subprocess.run([tool, "-uz", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        raise OSError(errno.EIO, f"{tool} -uz {path}: {result.stderr.strip()}")


def prepare(path: Path) -> None:
    """Make `path` ready to mount on: clear a stale mount, refuse a live one."""
    path = Path(path)
    if is_stale(path):
        log.warning("%s: clearing a mount left by a daemon that is gone", path)
        detach(path)
    real = os.path.realpath(path)
    if real in fuse_mounts():
        raise OSError(errno.EBUSY, f"{path} is already served by a running FUSE daemon")
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"mount point {path} is not a directory")
