"""The DMA-buf debug mode: flag data used without the cache maintenance that makes it coherent.

On the board the A53 caches are not coherent with the remote cores' view of DDR: Linux must
end its writes with DMA_BUF_SYNC_END|WRITE (clean) before a remote core reads, and begin
reading what a core wrote with DMA_BUF_SYNC_START|READ (invalidate). Here both sides share
the very same pages, so a missing sync still "works" — and fails on the board. With
RPMSG_EMU_DMA_DEBUG=1 in the daemon's environment, every heap buffer is checked; the CPU's
loads and stores are invisible, so the checks compare the buffer's contents (a hash) at the
moments both sides declare:

1. A remote core reads (firmware calls `ctx.dma_buf`) while Linux's CPU access is still open
   (a SYNC_START without its SYNC_END).
2. A remote core reads bytes Linux changed after its last SYNC_END with WRITE (or without
   ever making one): on the board they may still sit in the A53's cache.
3. Linux begins a CPU access without READ (or detaches the buffer without having begun one)
   after a remote core changed the bytes: whatever it read saw stale cache lines.
4. The SYNC protocol itself, as CONFIG_DMA_API_DEBUG would: SYNC_END without a SYNC_START,
   SYNC_END in another direction than its SYNC_START, SYNC_START while one is open.

Each finding is a WARNING in the daemon's log ("dma-buf debug: ..."). The kernel accepts all
of these calls; nothing fails. Hashing costs time: the mode is for debugging, not benchmarks.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

ENV = "RPMSG_EMU_DMA_DEBUG"
READ, WRITE, END = 1, 2, 4
_KEEP = 256  # buffers remembered (least recently used dropped): bounded by design
_CHUNK = 1 << 20
Key = tuple[int, int]  # (st_dev, st_ino) of the buffer


@dataclass
class _State:
    cpu_open: int | None = None  # direction bits of the open SYNC_START
    flushed: bytes | None = None  # contents when Linux last cleaned (END|WRITE) or the core read
    device_saw: bytes | None = None  # contents when a core last accessed, until Linux reads


def enabled() -> bool:
    return os.environ.get(ENV, "") not in ("", "0")


def _direction(flags: int) -> str:
    return {READ: "READ", WRITE: "WRITE", READ | WRITE: "RW"}[flags & (READ | WRITE)]


def digest_memory(memory: Any) -> bytes:
    view = memoryview(memory)
    h = hashlib.blake2b(digest_size=16)
    for start in range(0, len(view), _CHUNK):
        h.update(view[start:start + _CHUNK])
    return h.digest()


def _digest_fd(fd: int) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    offset = 0
    while chunk := os.pread(fd, _CHUNK, offset):
        h.update(chunk)
        offset += len(chunk)
    return h.digest()


def _zeros_digest(size: int) -> bytes:
    return digest_memory(bytes(size))


class CoherenceChecker:
    """The debug mode's memory of each buffer's sync state (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: OrderedDict[Key, _State] = OrderedDict()

    def _state(self, key: Key) -> _State:
        state = self._states.pop(key, None) or _State()
        self._states[key] = state
        while len(self._states) > _KEEP:
            self._states.popitem(last=False)
        return state

    @staticmethod
    def _flag(message: str, *args: Any) -> None:
        log.warning("dma-buf debug: " + message, *args)

    # ---- Linux's CPU (from the syscall supervisor) ----------------------------------------

    def cpu_sync(self, tid: int, fd: int, flags: int) -> None:
        """A valid DMA_BUF_IOCTL_SYNC by thread `tid` on its buffer `fd`."""
        try:
            ours = os.open(f"/proc/{tid}/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return  # opened without read access (O_WRONLY): nothing to compare
        try:
            st = os.fstat(ours)
            contents = _digest_fd(ours)
        finally:
            os.close(ours)
        with self._lock:
            self._cpu_sync(self._state((st.st_dev, st.st_ino)), flags, contents, tid)

    def _cpu_sync(self, state: _State, flags: int, contents: bytes, tid: int) -> None:
        direction = flags & (READ | WRITE)
        if not flags & END:
            if state.cpu_open is not None:
                self._flag("thread %d: SYNC_START|%s while its SYNC_START|%s is still open",
                           tid, _direction(direction), _direction(state.cpu_open))
            if state.device_saw is not None and state.device_saw != contents:
                if not direction & READ:
                    self._flag("thread %d: SYNC_START|%s without READ after a remote core "
                               "wrote the buffer: reads see stale cache lines on the board",
                               tid, _direction(direction))
            if direction & READ:
                state.device_saw = None
            state.cpu_open = direction
            return
        if state.cpu_open is None:
            self._flag("thread %d: SYNC_END|%s without a SYNC_START", tid, _direction(direction))
        elif state.cpu_open != direction:
            self._flag("thread %d: SYNC_END|%s ends a SYNC_START|%s", tid,
                       _direction(direction), _direction(state.cpu_open))
        state.cpu_open = None
        if direction & WRITE:
            state.flushed = contents

    # ---- the remote cores (from a core's thread, through its mapping table) ---------------

    def device_access(self, key: Key, memory: Any, core: str) -> None:
        """Firmware on `core` took a view of the buffer: it is about to read (and write)."""
        contents = digest_memory(memory)
        with self._lock:
            state = self._state(key)
            if state.cpu_open is not None:
                self._flag("%s reads a dma-buf while Linux's SYNC_START|%s has no SYNC_END",
                           core, _direction(state.cpu_open))
            clean = state.flushed if state.flushed is not None else _zeros_digest(len(memory))
            if contents != clean:
                self._flag("%s reads a dma-buf Linux changed after its last "
                           "DMA_BUF_SYNC_END|WRITE: on the board those bytes may still be in "
                           "the A53's cache", core)
            state.flushed = contents
            state.device_saw = contents

    def detached(self, key: Key, memory: Any, core: str) -> None:
        """The last attachment went (rproc_cdev_release)."""
        with self._lock:
            state = self._states.pop(key, None)
        if state is not None and state.device_saw is not None:
            if digest_memory(memory) != state.device_saw:
                self._flag("%s wrote a dma-buf that Linux never began to read with "
                           "DMA_BUF_SYNC_START|READ before detaching it: any read saw stale "
                           "cache lines on the board", core)
