"""The few Linux calls `rpmsg-emu run` needs: unshare, mount, umount2, with readable errors.

As root the process only needs its own mount namespace. An ordinary user also needs a user
namespace (where it holds the capabilities to mount); when the system forbids those, the error
says which switch forbids it instead of a bare EPERM.
"""
from __future__ import annotations

import ctypes
import errno
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


class NamespaceError(OSError):
    """The namespace cannot be set up; the message says why and what to change."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str | os.PathLike[str], target: str | os.PathLike[str],
          fstype: str | None = None, flags: int = 0, data: str | None = None) -> None:
    _check(_libc.mount(os.fsencode(source) if source else None, os.fsencode(target),
                       fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                       data.encode() if data else None),
           f"mount {source} on {target}")


def bind(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Recursive bind: the submounts (/dev/pts, /sys/fs/cgroup…) come along."""
    mount(source, target, None, MS_BIND | MS_REC)


def detach(target: str | os.PathLike[str]) -> None:
    _check(_libc.umount2(os.fsencode(target), MNT_DETACH), f"umount {target}")


def set_parent_death_signal(signum: int) -> None:
    """Called in the child between fork and exec: die with the parent."""
    _libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)


def enter_private_mount_namespace(map_root: bool = False) -> None:
    """unshare a mount namespace (plus a user namespace when not root); make it private.

    In the user namespace we stay ourselves, unless `map_root` makes us root there (as
    `unshare -r` does). Must run while the process has a single thread, before trio starts.
    """
    uid, gid = os.geteuid(), os.getegid()
    if uid != 0 and not os.access("/dev/fuse", os.R_OK | os.W_OK):
        raise NamespaceError(errno.EACCES, "/dev/fuse is not readable and writable for you, so "
                             "no FUSE mount is possible as an ordinary user; fuse3 packages make "
                             "it crw-rw-rw- (chmod 0666 /dev/fuse), or run as root")
    flags = CLONE_NEWNS if uid == 0 else CLONE_NEWNS | CLONE_NEWUSER
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        if uid == 0:
            raise NamespaceError(err, f"cannot create a mount namespace: {os.strerror(err)}")
        raise NamespaceError(err, userns_refusal(err))
    if uid != 0:
        _map_self(uid, gid, 0 if map_root else uid, 0 if map_root else gid)
    mount("none", "/", None, MS_REC | MS_PRIVATE)
    log.debug("in a private mount namespace (uid %d)", uid)


def _map_self(uid: int, gid: int, inner_uid: int, inner_gid: int) -> None:
    """Map our ids (the only ones we may map) to `inner_uid`/`inner_gid` in the namespace."""
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{inner_uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{inner_gid} {gid} 1")


def userns_refusal(err: int) -> str:
    """Why an ordinary user may not create a user namespace here, and what would allow it."""
    reasons = []
    if _read_int("/proc/sys/kernel/unprivileged_userns_clone") == 0:
        reasons.append("kernel.unprivileged_userns_clone is 0 "
                       "(sysctl -w kernel.unprivileged_userns_clone=1)")
    if _read_int("/proc/sys/user/max_user_namespaces") == 0:
        reasons.append("user.max_user_namespaces is 0 (sysctl -w user.max_user_namespaces=10000)")
    if _read_int("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1:
        reasons.append("AppArmor restricts unprivileged user namespaces "
                       "(kernel.apparmor_restrict_unprivileged_userns=1)")
    if not reasons:
        reasons.append("no sysctl forbids it, so probably a seccomp filter of a container or "
                       "sandbox (e.g. Docker's default profile)")
    return ("rpmsg-emu run needs an unprivileged user namespace, and this system does not allow "
            f"one ({os.strerror(err)}): " + "; ".join(reasons)
            + ". Run it as root (sudo), or use `rpmsg-emu mount DIR` with RPMSG_CHAR_ROOT=DIR.")


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None
