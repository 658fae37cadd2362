"""The kernel caches our entries and attributes, yet removal is seen at once and appearance too.

Every path below is looked up (and so cached by the kernel) before the request that removes
it; the checks come right after that request returns, with no waiting: the engine must have
invalidated the kernel's entries by then. "Fresh" paths, never looked up before, must be gone
as well, and a name that comes back must resolve to the new node.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from rpmsg_ioctl import create_ept, destroy
from sysfs_io import write

M4F = "sys/class/remoteproc/remoteproc0"  # AM62x id 9, running echo
M4F_DEBUG = "sys/kernel/debug/remoteproc/remoteproc0"


def cache(path: Path) -> None:
    """Look `path` up, stat it and read what it holds, so the kernel caches all of it."""
    for _ in range(2):
        st = os.lstat(path)
        os.stat(path)
        if os.path.isdir(path) and not os.path.islink(path):
            os.listdir(path)
        elif os.path.islink(path):
            os.readlink(path)
        elif st.st_mode & 0o444 and path.parent.name != "dev":
            path.read_bytes()


def assert_gone(path: Path) -> None:
    """Gone for stat, lstat, open and the parent's readdir (if the parent is still there)."""
    for call in (os.stat, os.lstat, lambda p: os.close(os.open(p, os.O_RDONLY))):
        with pytest.raises(FileNotFoundError):
            call(path)
    if os.path.isdir(path.parent):
        assert path.name not in os.listdir(path.parent)


def eptdev_paths(root: Path, node: str) -> list[Path]:
    """Everything the kernel makes for /dev/rpmsgN, as the paths a program would walk."""
    device = Path(os.path.realpath(root / "sys/class/rpmsg" / node))
    dev = (device / "dev").read_text().strip()
    return [root / "dev" / node, root / "sys/class/rpmsg" / node, device, device / "name",
            device / "src", device / "subsystem", device / "power", root / "sys/dev/char" / dev,
            root / "sys/class/rpmsg" / node / "name"]


def test_destroy_removes_cached_paths_before_the_ioctl_returns(emu) -> None:
    for round_ in range(20):
        node = create_ept(emu.root, f"cached-{round_}")
        paths = eptdev_paths(emu.root, node)
        fresh = [p / "uevent" for p in paths[2:3]] + [paths[2] / "dst"]
        fd = os.open(emu.root / "dev" / node, os.O_RDWR)
        for path in paths:
            cache(path)
        destroy(fd)
        for path in paths + fresh:
            assert_gone(path)
        os.close(fd)


def test_a_name_that_comes_back_is_the_new_node(emu) -> None:
    node = create_ept(emu.root, "first")
    name = emu.root / "sys/class/rpmsg" / node / "name"
    cache(name)
    cache(emu.root / "dev" / node)
    fd = os.open(emu.root / "dev" / node, os.O_RDWR)
    destroy(fd)
    os.close(fd)  # the number is free once the last file goes
    assert create_ept(emu.root, "second") == node  # the lowest free number, again
    assert name.read_text() == "second\n"
    fd = os.open(emu.root / "dev" / node, os.O_RDWR)  # the new device, not the destroyed one
    os.write(fd, b"ping")
    assert os.read(fd, 496) == b"ping"
    os.close(fd)


def test_a_new_node_appears_at_once_even_right_after_a_failed_lookup(emu) -> None:
    for round_ in range(10):
        expected = f"rpmsg{2 + round_}"  # rpmsg0 and rpmsg1 are the channels' eptdevs
        for _ in range(2):
            assert not os.path.exists(emu.root / "dev" / expected)
            assert not os.path.exists(emu.root / "sys/class/rpmsg" / expected)
        assert create_ept(emu.root, f"new-{round_}") == expected
        os.close(os.open(emu.root / "dev" / expected, os.O_RDWR))
        assert (emu.root / "sys/class/rpmsg" / expected / "name").read_text() == f"new-{round_}\n"


def core_paths(root: Path, virtio: str) -> list[Path]:
    """The /dev nodes and sysfs paths of one core's virtio device, found by walking sysfs."""
    link = root / "sys/bus/virtio/devices" / virtio
    device = Path(os.path.realpath(link))
    children = [device / name for name in os.listdir(device) if name.startswith(f"{virtio}.")]
    nodes = [root / "dev" / name for child in children if (child / "rpmsg").is_dir()
             for name in os.listdir(child / "rpmsg")]
    assert len(nodes) == 2, nodes  # the channel's eptdev and the rpmsg_ctrl device
    return [*nodes, link, device, device.parent, *children, *(c / "name" for c in children)]


def test_stop_removes_cached_paths_before_the_write_returns(emu) -> None:
    paths = core_paths(emu.root, "virtio0")  # remoteproc0
    for path in paths:
        cache(path)
    write(emu.root / M4F / "state", "stop")
    for path in paths:
        assert_gone(path)
    assert (emu.root / M4F / "state").read_text() == "offline\n"


def test_debugfs_crash_replaces_cached_paths_before_the_write_returns(emu) -> None:
    """With recovery enabled the core restarts inside the write: each old path is gone or is
    a new node (new inode), never the cached old one. The new core boots on its own thread
    and announces its channels again at its own pace, so a path gone at one call may be back,
    as a new node, at the next."""
    paths = core_paths(emu.root, "virtio0")  # remoteproc0
    write(emu.root / M4F / "recovery", "enabled")  # K3 drivers disable it
    for path in paths:
        cache(path)
    old = {path: os.lstat(path).st_ino for path in paths}
    write(emu.root / M4F_DEBUG / "crash", "1")  # RPROC_WATCHDOG
    for path in paths:
        for call in (os.lstat, os.stat, lambda p: os.close(os.open(p, os.O_RDONLY))):
            try:
                call(path)
            except FileNotFoundError:
                continue  # gone
            assert os.lstat(path).st_ino != old[path], path  # there: a new node


def test_an_open_file_of_a_removed_node_keeps_its_errors(emu) -> None:
    node = create_ept(emu.root, "held")
    cache(emu.root / "dev" / node)
    fd = os.open(emu.root / "dev" / node, os.O_RDWR)
    destroy(fd)
    with pytest.raises(OSError) as err:
        os.read(fd, 496)
    assert err.value.errno == errno.EPIPE
    os.close(fd)
