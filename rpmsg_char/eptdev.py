"""Creating and destroying an endpoint device: the steps that touch /dev and issue ioctls.

CREATE_EPT goes to /dev/rpmsg_ctrlC; the new rpmsgN is then found in sysfs, opened, and its
local address read. Unlike TI's library, a failure after the eptdev exists destroys it again
instead of leaving /dev/rpmsgN behind, and a stale eptdev with the same name is never mistaken
for the new one.
"""

import errno
import logging
import os
from fcntl import ioctl

from .eptdev_holders import eptdev_holders
from .errors import RpmsgCharError
from .sysfs_walk import Route, SysfsTree
from .uapi import RPMSG_CREATE_EPT_IOCTL, RPMSG_DESTROY_EPT_IOCTL, pack_endpoint_info

log = logging.getLogger(__name__)

_NOT_A_DEVICE = "; is it really an rpmsg device? (a regular file, or an emulator tree that is not mounted, " \
                "does not take ioctls)"


def create_eptdev(tree: SysfsTree, route: Route, name: bytes, local: int, remote: int,
                  flags: int) -> tuple[int, int, int]:
    """Create, find and open the eptdev; returns (fd, rpmsg index N, local address)."""
    stale = set(tree.eptdevs_named(route.ctrl_index, name))
    for index in sorted(stale):
        _report_same_name(tree.dev_node(f"rpmsg{index}"), name)
    _create(tree.dev_node(f"rpmsg_ctrl{route.ctrl_index}"), name, local, remote)
    index = _find_new(tree, route, name, stale)
    node = tree.dev_node(f"rpmsg{index}")
    try:
        fd = os.open(node, os.O_RDWR | flags)
    except OSError as exc:
        _destroy_unopened(node)
        raise RpmsgCharError.from_os_error(exc, f"cannot open {node}", step="open eptdev", path=node) from exc
    try:
        src = tree.eptdev_src(index)
    except BaseException:
        _destroy_quietly(fd, node)
        raise
    log.info("opened %s (fd %d, local address %d, remote %d) on %s", node, fd, src, remote, route.core)
    return fd, index, src


def destroy_eptdev(fd: int, node: str) -> None:
    """DESTROY_EPT: the kernel removes /dev/rpmsgN and wakes readers with EPIPE."""
    try:
        ioctl(fd, RPMSG_DESTROY_EPT_IOCTL)
    except OSError as exc:
        hint = _NOT_A_DEVICE if exc.errno == errno.ENOTTY else ""
        raise RpmsgCharError.from_os_error(exc, f"DESTROY_EPT ioctl on {node} failed{hint}",
                                           step="destroy eptdev", path=node) from exc


def _create(ctrl_node: str, name: bytes, local: int, remote: int) -> None:
    try:
        ctrl_fd = os.open(ctrl_node, os.O_RDWR)
    except OSError as exc:
        raise RpmsgCharError.from_os_error(exc, f"cannot open {ctrl_node}", step="create eptdev",
                                           path=ctrl_node) from exc
    try:
        ioctl(ctrl_fd, RPMSG_CREATE_EPT_IOCTL, pack_endpoint_info(name, local, remote))
    except OSError as exc:
        hint = _NOT_A_DEVICE if exc.errno == errno.ENOTTY else ""
        raise RpmsgCharError.from_os_error(exc, f"CREATE_EPT ioctl on {ctrl_node} failed{hint}",
                                           step="create eptdev", path=ctrl_node) from exc
    finally:
        os.close(ctrl_fd)


def _report_same_name(node: str, name: bytes) -> None:
    """Say what an eptdev that already has our name is: in use, or really left behind."""
    holders = eptdev_holders(node)
    if os.getpid() in holders.pids:
        log.debug("%s already has the name %r: another endpoint of this process", node, name)
    elif holders.pids:
        log.info("%s already has the name %r, held open by pid %s", node, name,
                 ", ".join(map(str, holders.pids)))
    elif holders.complete:
        log.warning("%s already has the name %r and no process holds it open: left behind by an "
                    "earlier run (it stays until its rpmsg_ctrl goes away)", node, name)
    else:
        log.warning("%s already has the name %r and none of the processes we may inspect holds it "
                    "open: left behind by an earlier run, or in use by another user", node, name)


def _find_new(tree: SysfsTree, route: Route, name: bytes, stale: set[int]) -> int:
    """The rpmsgN child named `name` that did not exist before the ioctl."""
    new = [n for n in tree.eptdevs_named(route.ctrl_index, name) if n not in stale]
    if not new:
        raise RpmsgCharError(errno.ENODEV, f"CREATE_EPT succeeded but no new rpmsgN named {name!r} appeared "
                             f"under rpmsg_ctrl{route.ctrl_index} of {route.core}; the kernel's eptdev cannot "
                             "be found, so it cannot be destroyed", step="find eptdev", path=route.ctrl_dir)
    return new[0]


def _destroy_unopened(node: str) -> None:
    """Our own open failed; try a plain open to destroy the eptdev rather than leak it."""
    try:
        fd = os.open(node, os.O_RDWR)
    except OSError as exc:
        log.warning("cannot open %s to destroy it (%s); it stays until its rpmsg_ctrl goes away", node, exc)
        return
    _destroy_quietly(fd, node)


def _destroy_quietly(fd: int, node: str) -> None:
    """Clean-up on a failure path: the original error is the one to report."""
    try:
        destroy_eptdev(fd, node)
    except RpmsgCharError as exc:
        log.warning("%s", exc)
    finally:
        os.close(fd)
