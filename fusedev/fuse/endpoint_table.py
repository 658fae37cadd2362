"""The endpoints of one virtio rpmsg device whose messages C delivers (endpoint_table.c).

Linux's mailbox ISR in C (remote_fw/host_transport.c `rpe_host_isr`) drains the core's RX ring
into this table as far as it can: a message for an eptdev's bound endpoint goes straight into
its queue (message_queue.c), and answers a waiting READ there, without Python. The table is
the `struct rpe_rx_sink` the ISR is given (`HostTransport.set_sink`). A message it does not
take (no such endpoint here, a reader on the trace pipe) is left, with the rest of the ring,
to Python's bottom half (virtio_rpmsg_bus.py), which keeps the order.
"""
from __future__ import annotations

from typing import Any

from fusedev.fuse._fuse_cffi import ffi, lib
from fusedev.fuse.message_queue import MessageQueue


class EndpointTable:
    """dst address → eptdev queue, for one virtio rpmsg device (its `endpoints` IDR, in part)."""

    def __init__(self, trace_on: Any) -> None:
        """`trace_on`: an `int *` that is non-zero while the trace pipe has readers."""
        table = lib.rpe_ept_table_new(trace_on)
        if table == ffi.NULL:
            raise MemoryError("rpe_ept_table_new")
        self._t = ffi.gc(table, lib.rpe_ept_table_free)
        self._trace_on = trace_on  # kept alive: C reads it
        self._queues: dict[int, MessageQueue] = {}  # kept alive while C points at them
        self._woken = ffi.new("uint64_t[]", lib.RPE_WOKEN_MAX)

    @property
    def address(self) -> int:
        """The table as a `struct rpe_rx_sink *`, for `HostTransport.set_sink`."""
        return int(ffi.cast("uintptr_t", self._t))

    def add(self, addr: int, queue: MessageQueue) -> None:
        """Messages for endpoint `addr` go into `queue` (an eptdev's, while bound)."""
        if lib.rpe_ept_add(self._t, addr, queue.c) < 0:
            raise MemoryError("rpe_ept_add")
        self._queues[addr] = queue

    def remove(self, addr: int) -> None:
        """Endpoint `addr` is gone or unbound: its messages go to Python again."""
        if self._queues.pop(addr, None) is not None:
            lib.rpe_ept_remove(self._t, addr)

    def wake_queued(self) -> None:
        """After an interrupt in which C queued messages no READ was waiting for: wake those
        queues' pollers and Python-side readers (rpmsg_ept_cb's wake_up_interruptible)."""
        for i in range(lib.rpe_ept_take_woken(self._t, self._woken, lib.RPE_WOKEN_MAX)):
            queue = MessageQueue.find(self._woken[i])
            if queue is not None and queue.on_queued is not None:
                queue.on_queued()
