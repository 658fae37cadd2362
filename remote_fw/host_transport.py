"""The Linux end of one core's rpmsg link: what virtio_rpmsg_bus does with the vrings and mailbox.

Per message the work is C (remote_fw/host_transport.c): the TX buffers and sending, and the
mailbox ISR with rpmsg_recv_done for the messages a C sink takes (fusedev's eptdev queues,
`set_sink`). A caller outside Python (fusedev's WRITE on an eptdev) sends through `c_send`.
This class keeps the control path and what C leaves to it: a send that must wait or queue
its kick, the messages no C sink takes (delivered to `on_receive` in order), TX-done wake-ups.
`run` is Linux's mailbox ISR + bottom half: the core, another thread, rings its interrupt line
(an eventfd), so a reply is handled in this task, between Linux's other work, never inside the
write (kick) that caused it. Every "notify me" (used_event) is followed by a second look at
the ring, since the core writes it at the same time.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Protocol

import trio

from ._vring_cffi import ffi, lib
from .errors import PayloadTooLargeError
from .kick_queue import KickQueue
from .mailbox import InterruptLine, Mailbox
from .rpmsg_header import RPMSG_HDR_SIZE
from .shared_memory import VRING_HOST_TO_REMOTE, VRING_REMOTE_TO_HOST, SharedMemory
from .vring import VRING_DESC_F_WRITE

log = logging.getLogger(__name__)


class InterruptController(Protocol):
    """Who runs Linux's ISRs in C where it waits (fusedev/fuse/interrupt_lines.py)."""

    def add(self, fd: int, handler: int, arg: int, owner: object) -> None:
        """When eventfd `fd` is rung, call `int handler(void *arg)` (addresses); `owner`
        keeps `arg` alive until `remove`."""

    def remove(self, fd: int) -> None:
        """No more calls for `fd`."""


class HostTransport:
    on_receive: Callable[[int, int, bytes], None] | None
    """Called as on_receive(src, dst, payload) for each message from the remote, in order."""
    on_tx_complete: Callable[[], None] | None
    """Called when the remote returned TX buffers after send() or can_send() found none free."""

    def __init__(self, shm: SharedMemory, to_remote: Mailbox, from_remote: Mailbox) -> None:
        self.num_bufs = shm.num_bufs
        self.buf_size = shm.buf_size
        self.mtu = shm.buf_size - RPMSG_HDR_SIZE
        self.on_receive = None
        self.on_tx_complete = None
        self._shm = shm
        self._rx = shm.vrings[VRING_REMOTE_TO_HOST]
        self._tx = shm.vrings[VRING_HOST_TO_REMOTE]
        self._kicks = KickQueue(to_remote)
        self._from_remote = from_remote
        host = lib.rpe_host_new(self._rx.c, self._tx.c, to_remote.c, from_remote.c,
                                self._kicks.busy, shm.buffer_addr(self.num_bufs),
                                self.buf_size, self.num_bufs)
        if host == ffi.NULL:
            raise MemoryError("rpe_host_new")
        self.c = ffi.gc(host, lib.rpe_host_free)
        """The C side, for `c_send` callers and tests."""
        self._rx_last_used = ffi.addressof(self.c, "rx_last_used")
        self._sink: Any = ffi.NULL
        self._sink_owner: object = None
        self._on_sink_pending: Callable[[], None] | None = None
        # Until a send() finds the ring full, Linux does not want TX-done interrupts.
        self._tx.used_event = 0xFFFF
        kick = False
        for i in range(self.num_bufs):
            self._rx.set_desc(i, shm.buffer_addr(i), self.buf_size, VRING_DESC_F_WRITE)
            kick |= self._rx.add_avail(i)
        if kick:
            self._kicks.kick(VRING_REMOTE_TO_HOST)

    @property
    def c_send(self) -> int:
        """The address of `int rpe_host_send(void *host, uint32_t src, uint32_t dst,
        const char *data, size_t len)`: 1 sent, 0 nothing done (then call `send`). Pass it with
        `c_host` (valid while this object lives) to C outside this module."""
        return int(ffi.cast("uintptr_t", ffi.addressof(lib, "rpe_host_send")))

    @property
    def c_host(self) -> int:
        return int(ffi.cast("uintptr_t", self.c))

    def set_sink(self, address: int, owner: object,
                 on_pending: Callable[[], None] | None) -> None:
        """Deliver received messages through the C `struct rpe_rx_sink` at `address` (0: none)
        as far as it takes them; `owner` keeps its memory alive meanwhile, and `on_pending`
        is called after an interrupt in which the sink set `pending`."""
        self._sink = ffi.cast("struct rpe_rx_sink *", address)
        self.c.sink = self._sink
        self._sink_owner = owner if address else None
        self._on_sink_pending = on_pending

    @property
    def sent_in_c(self) -> int:
        """Messages sent by C callers (`c_send`), for tests and the benchmark."""
        return self.c.sent_in_c

    @property
    def received_in_c(self) -> int:
        """Messages the C sink took, for tests and the benchmark."""
        return self.c.received_in_c

    def send(self, src: int, dst: int, payload: bytes) -> bool:
        """Queue one message to the remote; False when no TX buffer is free (nothing sent)."""
        n = len(payload)
        if n > self.mtu:
            raise PayloadTooLargeError(n, self.mtu)
        buf = lib.rpe_host_get_tx_buf(self.c)
        if buf < 0:
            self._want_tx_complete()
            buf = lib.rpe_host_get_tx_buf(self.c)  # returned while we asked?
            if buf < 0:
                return False
        if self._tx.post(buf, self._shm.buffer_addr(self.num_bufs + buf), src, dst, payload):
            self._kicks.kick(VRING_HOST_TO_REMOTE)
        return True

    def can_send(self) -> bool:
        """Would send() find a TX buffer? If not, on_tx_complete is armed (virtio_rpmsg_poll:
        a poller asks for the TX-done interrupt just as a blocked writer does)."""
        if lib.rpe_host_tx_free(self.c):
            return True
        self._want_tx_complete()
        return bool(lib.rpe_host_tx_free(self.c))  # returned while we asked?

    def _want_tx_complete(self) -> None:
        # virtio_rpmsg_bus enables the TX-done interrupt only while someone waits for a buffer.
        self._tx.used_event = self.c.tx_last_used

    async def run(self, controller: InterruptController | None = None) -> None:
        """Connect Linux's mailbox ISR for this core until cancelled. With a `controller`
        (fusedev's FUSE loop) the ISR runs in C wherever that waits (`rpe_host_irq`), and
        this task is the bottom half for what C leaves; without one, this task waits on the
        interrupt line itself and each kick is handled here, between tasks."""
        irq = InterruptLine()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._kicks.run)
                if controller is None:
                    await self._own_line(irq)
                else:
                    await self._bottom_half_of(irq, controller)
        finally:
            irq.close()

    async def _own_line(self, irq: InterruptLine) -> None:
        self._from_remote.attach(irq)
        try:
            while True:
                self._bottom_half(lib.rpe_host_isr(self.c, self._sink))
                await irq.wait()
                # A request that came in with the interrupt (a read right after the
                # write) is served first, as a syscall already under way would be.
                await trio.lowlevel.cancel_shielded_checkpoint()
        finally:
            self._from_remote.attach(None)

    async def _bottom_half_of(self, irq: InterruptLine, controller: InterruptController) -> None:
        bottom = InterruptLine()
        self.c.irq_fd, self.c.bh_fd = irq.fd, bottom.fd
        handler = int(ffi.cast("uintptr_t", ffi.addressof(lib, "rpe_host_irq")))
        try:
            controller.add(irq.fd, handler, self.c_host, self)
        except OSError as exc:  # the controller has no line left: this task takes the kicks
            log.warning("%s: interrupt line not handled in C (%s)", self._from_remote.name, exc)
            self.c.irq_fd = self.c.bh_fd = -1
            bottom.close()
            await self._own_line(irq)
            return
        self._from_remote.attach(irq)
        try:
            while True:
                self._bottom_half(lib.rpe_host_take_deferred(self.c))
                await bottom.wait()
        finally:
            self._from_remote.attach(None)
            controller.remove(irq.fd)
            self.c.irq_fd = self.c.bh_fd = -1
            bottom.close()

    def _bottom_half(self, status: int) -> None:
        """What the ISR in C left (its RPE_HOST_* bits): the messages its sink did not take,
        in order, a kick of the RX ring that has to queue, TX-done and sink wake-ups."""
        if status & lib.RPE_HOST_RX_LEFT:
            self._drain_rx()
        if status & lib.RPE_HOST_KICK:
            self._kicks.kick(VRING_REMOTE_TO_HOST)
        if status & lib.RPE_HOST_TX_DONE and self.on_tx_complete is not None:
            self.on_tx_complete()
        if status & lib.RPE_HOST_SINK and self._on_sink_pending is not None:
            self._on_sink_pending()
        if status & lib.RPE_HOST_UNKNOWN:
            log.warning("mailbox: kick for unknown vring %d ignored", self.c.unknown_vring)

    def _drain_rx(self) -> None:
        """Deliver every used RX buffer in order and post it back (rpmsg_recv_done)."""
        rx, last = self._rx, self._rx_last_used
        kick = False
        while last[0] != (used := rx.used_idx()):
            kick |= rx.recv_used(last, used, self.buf_size, self._deliver)
            rx.used_event = last[0]  # then look again: the core may have filled one meanwhile
        if kick:
            self._kicks.kick(VRING_REMOTE_TO_HOST)

    def _deliver(self, src: int, dst: int, payload: bytes) -> None:
        # on_receive is looked up per message: a receiver may tear the device down mid-batch.
        if self.on_receive is not None:
            self.on_receive(src, dst, payload)

    def dump(self, vring: int) -> str:
        """Human-readable dump of vring 0 (remote→Linux) or 1 (Linux→remote)."""
        if vring not in (VRING_REMOTE_TO_HOST, VRING_HOST_TO_REMOTE):
            raise ValueError(f"no vring {vring}; there are 0 (remote→Linux) and 1 (Linux→remote)")
        return self._shm.dump(vring)
