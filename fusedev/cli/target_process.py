"""A supervised process's paths, resolved as it would resolve them.

The supervisor answers a trapped call on the target's behalf (its memory is reached through
fusedev.kernel.uaccess), so a path is resolved relative to the target's root, working directory
or directory fd, through /proc/TID/{root,cwd,fd} (fs/proc/base.c magic links), never its own.
"""
from __future__ import annotations

import os

AT_FDCWD = -100


def fd_path(tid: int, fd: int) -> str:
    """The target's open file `fd`, as a path that opens or stats the same file."""
    return f"/proc/{tid}/fd/{fd}"


def resolve(tid: int, dirfd: int, path: bytes) -> bytes:
    """`path` as the target resolves it with `dirfd` (AT_FDCWD or an fd), as a path of ours."""
    if path.startswith(b"/"):
        return b"/proc/%d/root%s" % (tid, path)
    base = b"/proc/%d/cwd" % tid if dirfd == AT_FDCWD else os.fsencode(fd_path(tid, dirfd))
    return base + b"/" + path if path else base

