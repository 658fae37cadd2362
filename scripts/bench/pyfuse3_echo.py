"""The echo device written with pyfuse3: what a Python user would otherwise write.

Same semantics as ``c_echo_ll.c`` (one message per write of at most 4096 bytes, one message per
read, blocking or EAGAIN with O_NONBLOCK, poll with notify), so the benchmark can say what our
own cffi+trio engine costs next to the obvious Python alternative.

Usage: python pyfuse3_echo.py MOUNTPOINT   (foreground; SIGTERM/SIGINT unmount and exit)
"""

from __future__ import annotations

import collections
import errno
import os
import select
import signal
import stat
import sys

import pyfuse3
import trio

ECHO_INODE = 2
ECHO_NAME = b"echo"
MSG_MAX = 4096
QUEUE_CAP = 1024
CACHE_TIMEOUT = 3600.0


class EchoOperations(pyfuse3.Operations):
    """One echo file in the root directory; all opens share one message queue."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: collections.deque[bytes] = collections.deque()
        self.changed = trio.Event()
        self.nonblocking: dict[int, bool] = {}
        self.next_fh = 1
        self.poll_handle: pyfuse3.PollHandle | None = None

    def _attr(self, inode: int) -> pyfuse3.EntryAttributes:
        attr = pyfuse3.EntryAttributes()
        attr.st_ino = inode
        if inode == pyfuse3.ROOT_INODE:
            attr.st_mode = stat.S_IFDIR | 0o755
            attr.st_nlink = 2
        else:
            attr.st_mode = stat.S_IFREG | 0o666
            attr.st_nlink = 1
        attr.attr_timeout = CACHE_TIMEOUT
        attr.entry_timeout = CACHE_TIMEOUT
        return attr

    def _readiness(self) -> int:
        mask = select.POLLOUT | select.POLLWRNORM if len(self.queue) < QUEUE_CAP else 0
        if self.queue:
            mask |= select.POLLIN | select.POLLRDNORM
        return mask

    def _queue_changed(self, before: int) -> None:
        """Wake blocked readers, and pollers if readiness changed."""
        self.changed.set()
        self.changed = trio.Event()
        if self.poll_handle is not None and self._readiness() != before:
            self.poll_handle.notify()
            self.poll_handle = None

    async def lookup(self, parent_inode: int, name: bytes,
                     ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        if parent_inode != pyfuse3.ROOT_INODE or name != ECHO_NAME:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return self._attr(ECHO_INODE)

    async def getattr(self, inode: int, ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        if inode not in (pyfuse3.ROOT_INODE, ECHO_INODE):
            raise pyfuse3.FUSEError(errno.ENOENT)
        return self._attr(inode)

    async def open(self, inode: int, flags: int, ctx: pyfuse3.RequestContext) -> pyfuse3.FileInfo:
        if inode != ECHO_INODE:
            raise pyfuse3.FUSEError(errno.EISDIR)
        # pyfuse3's read() does not see the file flags, so O_NONBLOCK is taken at open.
        fh = self.next_fh
        self.next_fh += 1
        self.nonblocking[fh] = bool(flags & os.O_NONBLOCK)
        return pyfuse3.FileInfo(fh=fh, direct_io=True, nonseekable=True)

    async def release(self, fh: int) -> None:
        self.nonblocking.pop(fh, None)

    async def read(self, fh: int, off: int, size: int) -> bytes:
        while not self.queue:
            if self.nonblocking[fh]:
                raise pyfuse3.FUSEError(errno.EAGAIN)
            await self.changed.wait()
        before = self._readiness()
        msg = self.queue.popleft()
        self._queue_changed(before)
        return msg[:size]

    async def write(self, fh: int, off: int, buf: bytes) -> int:
        if len(buf) > MSG_MAX:
            raise pyfuse3.FUSEError(errno.EMSGSIZE)
        if len(self.queue) >= QUEUE_CAP:
            raise pyfuse3.FUSEError(errno.EAGAIN)
        before = self._readiness()
        self.queue.append(bytes(buf))
        self._queue_changed(before)
        return len(buf)

    async def poll(self, inode: int, fh: int, poll_handle: pyfuse3.PollHandle | None,
                   ctx: pyfuse3.RequestContext) -> int:
        if poll_handle is not None:
            self.poll_handle = poll_handle
        return self._readiness()


async def serve() -> None:
    """Run the FUSE loop until SIGTERM or SIGINT, then return so the caller unmounts."""
    async with trio.open_nursery() as nursery:
        async def stop_on_signal() -> None:
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    pyfuse3.terminate()
                    return

        nursery.start_soon(stop_on_signal)
        await pyfuse3.main()
        nursery.cancel_scope.cancel()


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} MOUNTPOINT")
    options = set(pyfuse3.default_options)
    options.add("fsname=pyfuse3_echo")
    pyfuse3.init(EchoOperations(), sys.argv[1], options)
    try:
        trio.run(serve)
    finally:
        pyfuse3.close(unmount=True)


if __name__ == "__main__":
    main()
