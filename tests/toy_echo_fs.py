"""A toy filesystem on the fusedev engine, for the engine's tests and benchmarks.

Usage: python tests/toy_echo_fs.py MOUNTPOINT

`echo` is an echo device: each write queues one message, each read returns one (truncated to
the read size), poll reports POLLIN while a message waits. Its ioctls: ECHO_IOC_COUNT
(_IOR('E', 1, int): messages queued), ECHO_IOC_XOR (_IOWR('E', 2, 8 bytes): the bytes XOR 0xff)
and ECHO_IOC_DRAIN (_IO('E', 3)); anything else is EINVAL, the errno this device chooses.
The rest of the tree exercises directories, symlinks, attributes and permissions.
"""
from __future__ import annotations

import collections
import errno
import logging
import struct
import sys

import trio

from fusedev.cli.daemon import serve_until_signal
from fusedev.fuse.fileops import (POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, FileOperations, FsError,
                             OpenFile, PollTable, WouldBlock)
from fusedev.fuse.fuse_session import FuseMount
from fusedev.fuse.vfs import Directory
from fusedev.fuse.waitqueue import WaitQueue


def _ioc(direction: int, kind: str, nr: int, size: int) -> int:
    return direction << 30 | size << 16 | ord(kind) << 8 | nr


ECHO_IOC_COUNT = _ioc(2, "E", 1, 4)
ECHO_IOC_XOR = _ioc(3, "E", 2, 8)
ECHO_IOC_DRAIN = _ioc(0, "E", 3, 0)


class EchoDevice(FileOperations):
    """Shared by all openers: what one writes, the next read returns."""

    def __init__(self) -> None:
        self.queue: collections.deque[bytes] = collections.deque()
        self.readq = WaitQueue()

    def read(self, file: OpenFile, size: int, flags: int) -> bytes:
        if not self.queue:
            if flags & 0o4000:
                raise FsError(errno.EAGAIN)
            raise WouldBlock(self.readq)
        return self.queue.popleft()[:size]

    def write(self, file: OpenFile, data: bytes, flags: int) -> int:
        self.queue.append(data)
        self.readq.wake_up()
        return len(data)

    def poll(self, file: OpenFile, table: PollTable) -> int:
        table.wait_on(self.readq)
        mask = POLLOUT | POLLWRNORM
        if self.queue:
            mask |= POLLIN | POLLRDNORM
        return mask

    def ioctl(self, file: OpenFile, cmd: int, arg: int, data: bytes) -> tuple[int, bytes]:
        if cmd == ECHO_IOC_COUNT:
            return 0, struct.pack("=i", len(self.queue))
        if cmd == ECHO_IOC_XOR:
            return 0, bytes(b ^ 0xFF for b in data)
        if cmd == ECHO_IOC_DRAIN:
            dropped = len(self.queue)
            self.queue.clear()
            return dropped, b""
        raise FsError(errno.EINVAL)


def build_tree(stored: list[bytes]) -> Directory:
    root = Directory()
    root.device("echo", EchoDevice(), mode=0o666)
    root.device("private", EchoDevice(), mode=0o600)
    deep = root.makedirs("devices/platform/bus@f0000/5000000.m4fss")
    deep.attribute("name", show=lambda: "5000000.m4fss\n")
    deep.attribute("state", show=lambda: (stored[-1] if stored else b"offline\n"),
                   store=stored.append, mode=0o644)
    root.makedirs("bus/platform/devices").symlink(
        "5000000.m4fss", "../../../devices/platform/bus@f0000/5000000.m4fss")
    # A stable (long-cached) entry that a write to `control` removes: the engine must
    # invalidate the kernel's cached entry for it to vanish at once.
    root.mkdir("stable")
    root.attribute("control", store=lambda data: root.discard("stable"), mode=0o200)
    return root


async def main(path: str) -> int:
    logging.basicConfig(level=logging.INFO, format="toy-echo: %(message)s")
    mount = FuseMount(build_tree([]), path, allow_other=True)
    await serve_until_signal(mount)
    return 0


if __name__ == "__main__":
    sys.exit(trio.run(main, sys.argv[1]))
