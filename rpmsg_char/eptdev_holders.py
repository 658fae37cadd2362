"""Who holds an endpoint device open, found as fuser(1) does: through /proc/PID/fd.

An eptdev that nobody holds open and that nobody destroyed stays until its rpmsg_ctrl goes
away: that is what a crashed run leaves behind. One that a live process holds is simply in use
under the same name. Only this scan can tell the two apart; sysfs shows neither.
"""

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class Holders:
    """The pids holding the device open, and whether every process could be looked at."""

    pids: tuple[int, ...]
    complete: bool


def eptdev_holders(node: str, proc: str = "/proc") -> Holders:
    """The processes with `node` (a /dev/rpmsgN) open: same device and inode, or same path.

    Only links ending in the node's name are stat'ed, so a process holding a file of a hung
    filesystem cannot stall the scan. Processes we may not inspect make the answer incomplete.
    """
    try:
        wanted = os.stat(node)
    except OSError:
        wanted = None
    base = os.path.basename(node)
    pids: list[int] = []
    complete = True
    for entry in os.scandir(proc):
        if not entry.name.isdigit():
            continue
        fd_dir = os.path.join(entry.path, "fd")
        try:
            fds = os.listdir(fd_dir)
        except PermissionError:
            complete = False
            continue
        except OSError:  # the process has just exited
            continue
        if any(_same_file(os.path.join(fd_dir, fd), node, base, wanted) for fd in fds):
            pids.append(int(entry.name))
    return Holders(tuple(sorted(pids)), complete)


def _same_file(link: str, node: str, base: str, wanted: os.stat_result | None) -> bool:
    try:
        target = os.readlink(link)
    except OSError:
        return False
    if os.path.basename(target) != base:
        return False
    if target == node:
        return True
    try:
        st = os.stat(link)  # the open file itself, seen from another mount namespace too
    except OSError:
        return False
    return wanted is not None and (st.st_dev, st.st_ino) == (wanted.st_dev, wanted.st_ino)
