"""A tracefs-style `trace_pipe` of rpmsg traffic: one line per message, for any reader.

Each open sees the messages sent or received from then on; a read blocks until a line is
there and returns as many whole lines as fit. Line format (tab separated):
`<monotonic seconds>\t<core>\t<tx|rx>\t<src>\t<dst>\t<len>\t<payload hex>`, tx = Linux→remote.
Nothing is recorded while nobody reads, so the hot path pays nothing then.
"""
from __future__ import annotations

import collections
import errno
import time

from fusedev.fileops import (POLLIN, POLLRDNORM, FileOperations, FsError, OpenFile, PollTable,
                             WouldBlock)
from fusedev.waitqueue import WaitQueue

MAX_BACKLOG = 65536  # lines kept per slow reader; older ones are dropped, as tracefs does


class TracePipe(FileOperations):
    """The trace hub and the file operations of its pipe."""

    def __init__(self) -> None:
        self.readers: dict[int, collections.deque[bytes]] = {}
        self.readq = WaitQueue()

    def record(self, core: str, direction: str, src: int, dst: int, payload: bytes) -> None:
        if not self.readers:
            return
        line = (f"{time.monotonic():.6f}\t{core}\t{direction}\t{src}\t{dst}\t{len(payload)}\t"
                f"{payload.hex()}\n").encode()
        for backlog in self.readers.values():
            backlog.append(line)
        self.readq.wake_up()

    def open(self, file: OpenFile) -> None:
        self.readers[id(file)] = collections.deque(maxlen=MAX_BACKLOG)

    def release(self, file: OpenFile) -> None:
        self.readers.pop(id(file), None)

    def read(self, file: OpenFile, size: int, flags: int) -> bytes:
        backlog = self.readers[id(file)]
        if not backlog:
            if flags & 0o4000:
                raise FsError(errno.EAGAIN)
            raise WouldBlock(self.readq)
        out = bytearray()
        while backlog and len(out) + len(backlog[0]) <= size:
            out += backlog.popleft()
        return bytes(out) if out else backlog.popleft()[:size]

    def poll(self, file: OpenFile, table: PollTable) -> int:
        table.wait_on(self.readq)
        return POLLIN | POLLRDNORM if self.readers.get(id(file)) else 0
