"""A tracefs-style `trace_pipe` of rpmsg traffic: one JSON line per event, for any reader.

Each open sees the events from then on; a read blocks until a line is there and returns as
many whole lines as fit. Every line has `time` (wall-clock seconds, CLOCK_REALTIME as candump
stamps frames), `kind` and `core`; a `message` adds `dir` (tx = Linux→remote), `src`, `dst`,
`len` and `data` (payload hex). Other kinds (fault injection, …) come through `event()` with
their own fields. fusedev/kernel/trace_record.py reads them; docs/cli.md documents them.
Nothing is recorded while nobody reads, so the hot path pays nothing then: `active` (a C
int) tells Linux's per-message path in C (eptdev_write.c, endpoint_table.c) to leave every
message to Python, which records it, while someone does.
"""
from __future__ import annotations

import collections
import errno
import json
import time
from typing import Any

from fusedev.fuse._fuse_cffi import ffi
from fusedev.fuse.fileops import (POLLIN, POLLRDNORM, FileOperations, FsError, OpenFile, PollTable,
                             WouldBlock)
from fusedev.fuse.waitqueue import WaitQueue

MAX_BACKLOG = 65536  # lines kept per slow reader; older ones are dropped, as tracefs does


class TracePipe(FileOperations):
    """The trace hub and the file operations of its pipe."""

    def __init__(self) -> None:
        self.readers: dict[int, collections.deque[bytes]] = {}
        self.readq = WaitQueue()
        self.active = ffi.new("int *")

    def record(self, core: str, direction: str, src: int, dst: int, payload: bytes) -> None:
        """A message passing the virtio rpmsg bus (virtio_rpmsg_bus.py send/_receive)."""
        if not self.readers:
            return
        self._push({"time": time.time(), "kind": "message", "core": core, "dir": direction,
                    "src": src, "dst": dst, "len": len(payload), "data": payload.hex()})

    def event(self, core: str, kind: str, **fields: Any) -> None:
        """Any other event worth a trace line (kind not "message"; fields JSON-serialisable)."""
        if not self.readers:
            return
        self._push({"time": time.time(), "kind": kind, "core": core, **fields})

    def _push(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        for backlog in self.readers.values():
            backlog.append(line)
        self.readq.wake_up()

    def open(self, file: OpenFile) -> None:
        self.readers[id(file)] = collections.deque(maxlen=MAX_BACKLOG)
        self.active[0] = len(self.readers)

    def release(self, file: OpenFile) -> None:
        self.readers.pop(id(file), None)
        self.active[0] = len(self.readers)

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
