"""Placeholders for the host's /dev and /sys entries inside the emulated tree.

`rpmsg-emu run` covers /dev and /sys with the emulator's tree. So that /dev/null, /dev/pts or
/sys/devices/system/cpu keep working, every host entry the emulator does not provide gets a
placeholder of the same kind in the tree — an empty directory or empty file, onto which the
host's entry is later bind-mounted, or a copy of a symlink (sysfs links are relative, so they
resolve inside the merged tree). Where both have a directory (/sys/bus, /sys/bus/platform/devices,
/sys/devices/platform, /sys/kernel…) the two are merged one level further down, up to `depth`.
The emulator's own entries always win, and the directories where the emulated kernel adds
entries at run time under names the host may use too (virtio0, 234:0…) stay wholly emulated:
on the board those subsystems hold only the remote cores' devices anyway.
"""
from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from fusedev.fuse.vfs import Directory

log = logging.getLogger(__name__)

DEV_DEPTH = 2  # /dev/<entry>, and /dev/<dir>/<entry> where the emulator has <dir> too
SYS_DEPTH = 4  # down to /sys/bus/platform/devices/<entry>
OWNED = frozenset({"sys/bus/virtio", "sys/bus/rpmsg", "sys/class/rpmsg", "sys/class/remoteproc",
                   "sys/dev/char", "sys/kernel/debug/remoteproc", "sys/kernel/debug/rpmsg_emu"})


@dataclass(frozen=True)
class Bind:
    """Bind-mount host `source` onto the placeholder at `target` (relative to the tree root)."""

    source: Path
    target: str
    is_dir: bool


def mirror(host_dir: Path, tree: Directory, tree_path: str, depth: int) -> list[Bind]:
    """Add placeholders for `host_dir`'s entries missing from `tree`; return the binds to make.

    `host_dir` must still show the host's entries (a copy of /dev or /sys saved before covering).
    """
    binds: list[Bind] = []
    try:
        entries = sorted(os.scandir(host_dir), key=lambda e: e.name)
    except OSError as exc:  # e.g. /sys/kernel/debug is root-only; left empty
        log.debug("cannot list %s: %s", host_dir, exc.strerror)
        return binds
    for entry in entries:
        target = f"{tree_path}/{entry.name}"
        ours = tree.children.get(entry.name)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if ours is not None:
            if (isinstance(ours, Directory) and stat.S_ISDIR(st.st_mode) and depth > 1
                    and target not in OWNED):
                binds += mirror(Path(entry.path), ours, target, depth - 1)
            continue
        perm = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            tree.symlink(entry.name, os.readlink(entry.path))
        elif stat.S_ISDIR(st.st_mode):
            tree.mkdir(entry.name, perm, uid=st.st_uid, gid=st.st_gid)
            binds.append(Bind(Path(entry.path), target, True))
        else:
            tree.attribute(entry.name, mode=perm, uid=st.st_uid, gid=st.st_gid)
            binds.append(Bind(Path(entry.path), target, False))
    return binds


def mirror_host(root: Directory, host_dev: Path, host_sys: Path) -> list[Bind]:
    """Placeholders for all of the host's /dev and /sys (given as saved copies) in `root`."""
    binds = mirror(host_dev, root.makedirs("dev"), "dev", DEV_DEPTH)
    binds += mirror(host_sys, root.makedirs("sys"), "sys", SYS_DEPTH)
    log.debug("%d host entries to bind into the emulated tree", len(binds))
    return binds
