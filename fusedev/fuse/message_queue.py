"""An endpoint device's receive queue, kept in C (message_queue.c) so READs skip Python.

The queue holds the messages received and the READs that wait for one, FIFO both, as
drivers/rpmsg/rpmsg_char.c's skb `queue` and `readq` do. A driver owns one (`MessageQueue`):
it pushes what its endpoint receives (one C call, which answers the oldest waiting READ at
once) and binds, purges and closes the queue along its life cycle. The engine attaches the
queue to an open file (`Operations.open`): the C read handler (fuse_build.py `rpe_read`) then
answers that file's READs itself, or keeps them waiting, without calling Python.

Python keeps what is rare: INTERRUPT (`QueuedRead`, decided by `WaitingRequests.interrupted`),
the EPIPE of a destroyed endpoint, and any READ while the session holds its replies
(`Operations.send`), which goes through the driver's `read` and `pop`.
"""
from __future__ import annotations

import errno
import itertools
import weakref
from typing import Any, Callable

from fusedev.fuse._fuse_cffi import ffi, lib

Send = Callable[..., None]

_keys = itertools.count(1)
_queues: weakref.WeakValueDictionary[int, MessageQueue] = weakref.WeakValueDictionary()


class MessageQueue:
    """Received messages and waiting READs of one endpoint device."""

    __slots__ = ("key", "_q", "_send", "_tx_owner", "on_queued", "__weakref__")

    def __init__(self) -> None:
        self.key = next(_keys)
        queue = lib.rpe_mq_new(self.key)
        if queue == ffi.NULL:
            raise MemoryError("rpe_mq_new")
        self._q = ffi.gc(queue, lib.rpe_mq_free)
        self._send: Send | None = None  # the attached session's Operations.send
        self._tx_owner: object = None  # keeps the link that C sends through alive
        self.on_queued: Callable[[], None] | None = None
        """Called when C queued a message no READ was waiting for (endpoint_table.py)."""
        _queues[self.key] = self

    @staticmethod
    def find(key: int) -> MessageQueue | None:
        """The queue behind a C interrupt callback's `owner` key."""
        return _queues.get(key)

    @property
    def c(self) -> Any:
        """The C queue (`struct rpe_mqueue *`), for endpoint_table.py."""
        return self._q

    def __len__(self) -> int:
        """Messages queued."""
        return self._q.len

    @property
    def waiting(self) -> int:
        """READs waiting in C."""
        return self._q.waiting

    @property
    def pushed(self) -> int:
        """Messages pushed so far (for tests and benchmarks)."""
        return self._q.pushed

    @property
    def answered_at_once(self) -> int:
        """Pushed messages that went straight to a waiting READ."""
        return self._q.answered_at_once

    # ---- the driver's side -----------------------------------------------------------------

    def push(self, data: bytes) -> bool:
        """A received message: True when a waiting READ got it, False when it was queued."""
        res = lib.rpe_mq_push(self._q, data, len(data))
        if res < 0:
            raise MemoryError("rpe_mq_push")
        return res == 1

    def pop(self, size: int) -> bytes | None:
        """The oldest message, truncated to `size` bytes (the rest is dropped); None if empty."""
        if not self._q.len:
            return None
        buf = ffi.new("char[]", max(size, 1))
        n = lib.rpe_mq_take(self._q, buf, size)
        return ffi.unpack(buf, n) if n >= 0 else None

    def bind(self) -> None:
        """The device has an endpoint again (opened): READs wait for messages."""
        self._q.bound = 1

    def bind_tx(self, send_fn: int, host: int, owner: object, src: int, dst: int,
                trace_on: Any) -> None:
        """WRITEs on the attached file are sent in C (eptdev_write.c) from `src` to `dst`
        through `send_fn` (remote_fw's `HostTransport.c_send`) on `host` (its `c_host`),
        which `owner` keeps alive; `trace_on` (an `int *`) sends them to Python instead."""
        self._tx_owner = owner
        lib.rpe_mq_bind_tx(self._q, send_fn, host, src, dst, trace_on)

    def unbind_tx(self) -> None:
        """WRITEs go to Python again (the endpoint is gone)."""
        lib.rpe_mq_bind_tx(self._q, 0, 0, 0, 0, ffi.NULL)
        self._tx_owner = None

    def release(self) -> None:
        """The file is closed (rpmsg_eptdev_release): no endpoint, messages purged."""
        self._q.bound = 0
        lib.rpe_mq_purge(self._q)

    def close(self, err: int = errno.EPIPE) -> None:
        """The endpoint is gone (destroy, or the channel removed): later READs and every
        waiting READ get `err` at once (rpmsg_chrdev_eptdev_destroy wakes the readers)."""
        self._q.bound = 0
        while (req := lib.rpe_mq_pop_reader(self._q)) != ffi.NULL:
            if self._send is not None:
                # Holds a reference to self until sent: the C interrupt callback of `req`
                # points at this queue until then.
                self._send(self._reply_err, req, err)

    # ---- the engine's side -----------------------------------------------------------------

    def attach(self, session: Any, fh: int, held: Any, send: Send) -> None:
        """READs on open file `fh` of `session` (its fuse userdata) are served from here;
        `held` (an `int *`) is non-zero while the session holds its replies."""
        if lib.rpe_mq_attach(self._q, session, fh, held) < 0:
            raise MemoryError("rpe_mq_attach")
        self._send = send

    def detach(self) -> None:
        """The file is released, or the session ends: READs still waiting are dropped
        unanswered (there are none at release; at the session's end the kernel aborts them)."""
        lib.rpe_mq_detach(self._q)
        self._send = None

    def flush(self) -> None:
        """Replies are no longer held: answer the READs that waited meanwhile."""
        if self._q.len and self._q.waiting:
            lib.rpe_mq_flush(self._q)

    def is_waiting(self, read_id: int) -> bool:
        return bool(lib.rpe_mq_is_waiting(self._q, read_id))

    def cancel(self, read_id: int, err: int = errno.EINTR) -> None:
        """End a waiting READ with `err`; one being registered is ended by C."""
        req = lib.rpe_mq_cancel(self._q, read_id)
        if req != ffi.NULL and self._send is not None:
            self._send(self._reply_err, req, err)

    def _reply_err(self, req: Any, err: int) -> None:
        lib.fuse_reply_err(req, err)


class QueuedRead:
    """A READ waiting in a `MessageQueue`, as `WaitingRequests.interrupted` handles it."""

    __slots__ = ("queue", "read_id", "req")

    def __init__(self, queue: MessageQueue, read_id: int, req: Any) -> None:
        self.queue = queue
        self.read_id = read_id
        self.req = req  # valid while it waits: `interrupted` reads the caller's thread id now

    @property
    def unanswered(self) -> bool:
        return self.queue.is_waiting(self.read_id)

    def cancel(self) -> None:
        """End the call with EINTR."""
        self.queue.cancel(self.read_id)
