"""The remote core's end of the rpmsg link: its mailbox ISR, taking messages Linux posted and
filling the buffers Linux lent it. Only the shared memory and the two mailboxes are touched.
"""

from __future__ import annotations

import logging
from typing import Callable

import trio

from .isr import in_kick, leave_kick
from .kick_queue import KickQueue
from .mailbox import Mailbox
from .rpmsg_header import RPMSG_HDR, RPMSG_HDR_SIZE
from .shared_memory import VRING_HOST_TO_REMOTE, VRING_REMOTE_TO_HOST, SharedMemory

log = logging.getLogger(__name__)

SENDS_PER_CHECKPOINT = 64
"""On the board a core runs beside Linux; here it shares one trio thread with Linux, the FUSE
session and the other cores. A core sending back to back from its own task (a streaming
firmware) lets them run after this many messages, so nothing freezes while it streams. A yield
costs about as much as one message, so this costs under 2 %. Sends inside a kick are not counted:
Linux is waiting for that pass, and what it posted bounds it."""


class DeviceTransport:
    def __init__(
        self, shm: SharedMemory, from_host: Mailbox, to_host: Mailbox, irq_latency: float = 0.0
    ) -> None:
        self.mtu = shm.buf_size - RPMSG_HDR_SIZE
        self._shm = shm
        self._mem = shm.mem
        self._inbound = shm.vrings[VRING_HOST_TO_REMOTE]
        self._outbound = shm.vrings[VRING_REMOTE_TO_HOST]
        self._from_host = from_host
        self._kicks = KickQueue(to_host)
        self._irq_latency = irq_latency
        self._in_last_avail = 0
        self._out_last_avail = 0
        self._sent_since_checkpoint = 0
        self._rx_kicked = False
        self.on_kick: Callable[[], bool] | None = None
        """Runs the RX pass inside the kick; False when it could not finish it there."""
        self._rx_waiter = trio.lowlevel.ParkingLot()
        self._buffer_waiters = trio.lowlevel.ParkingLot()

    async def run_isr(self) -> None:
        """The core's mailbox interrupt: wake the RX loop or the senders waiting for buffers;
        also posts the core's own kicks that found Linux's mailbox full.

        Without a modelled IRQ latency, a kick into an empty mailbox is handled at once by
        `_isr` (see Mailbox); with one, every kick waits its latency in this task.
        """
        mailbox = self._from_host
        if not self._irq_latency:
            mailbox.attach(self._isr)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._kicks.run)
                while True:
                    vring = await mailbox.receive()
                    if self._irq_latency:
                        await trio.sleep(self._irq_latency)
                    self._isr(vring)
        finally:
            mailbox.attach(None)

    def _isr(self, vring: int) -> None:
        if vring == VRING_HOST_TO_REMOTE:
            if self.on_kick is not None and self.on_kick():
                return
            self._rx_kicked = True
            self._rx_waiter.unpark_all()
        elif vring == VRING_REMOTE_TO_HOST:
            self._buffer_waiters.unpark_all()
        else:
            log.warning("%s: kick for unknown vring %d ignored", self._from_host.name, vring)

    async def wait_rx_kick(self) -> None:
        """Sleep until Linux kicks the inbound vring (returns at once if it already did)."""
        while not self._rx_kicked:
            await self._rx_waiter.park()
        self._rx_kicked = False

    def take_received(self) -> list[tuple[int, int, bytes]]:
        """Copy out every message Linux posted, give the buffers back, notify Linux if it asked.

        Returns [(src, dst, payload)] in ring order; empty when nothing is pending, in which
        case Linux is asked (avail_event) to kick on its next post.
        """
        ring, mem, shm = self._inbound, self._mem, self._shm
        last = self._in_last_avail
        avail = ring.avail_idx()
        if last == avail:
            ring.avail_event = last
            return []
        messages = []
        notify = False
        while last != avail:
            head = ring.avail_entry(last)
            last = (last + 1) & 0xFFFF
            addr, length, _flags, _next = ring.desc(head)
            try:
                off = shm.offset_of(addr, length)
                src, dst, _reserved, n, _f = RPMSG_HDR.unpack_from(mem, off)
                if n > length - RPMSG_HDR_SIZE:
                    raise ValueError(f"header len {n} exceeds descriptor len {length}")
            except ValueError as exc:
                log.warning("dropping malformed buffer %d: %s", head, exc)
            else:
                start = off + RPMSG_HDR_SIZE
                messages.append((src, dst, bytes(mem[start : start + n])))
            notify |= ring.add_used(head, length)
        self._in_last_avail = last
        if notify:
            self._kicks.kick(VRING_HOST_TO_REMOTE)
        return messages

    def try_send(self, src: int, dst: int, payload: bytes) -> bool:
        """Fill one of Linux's RX buffers at once; False (nothing sent) while none is posted."""
        ring = self._outbound
        last = self._out_last_avail
        if last == ring.avail_idx():
            return False
        head = ring.avail_entry(last)
        addr, length, _flags, _next = ring.desc(head)
        n = len(payload)
        if RPMSG_HDR_SIZE + n > length:
            raise ValueError(f"{n}-byte payload does not fit Linux's {length}-byte buffer")
        off = self._shm.offset_of(addr, length)
        self._out_last_avail = (last + 1) & 0xFFFF
        RPMSG_HDR.pack_into(self._mem, off, src, dst, 0, n, 0)
        self._mem[off + RPMSG_HDR_SIZE : off + RPMSG_HDR_SIZE + n] = payload
        if ring.add_used(head, RPMSG_HDR_SIZE + n):
            self._kicks.kick(VRING_REMOTE_TO_HOST)
        return True

    async def send(self, src: int, dst: int, payload: bytes) -> None:
        """Fill one of Linux's RX buffers; wait while Linux has none posted."""
        while not self.try_send(src, dst, payload):
            await leave_kick()
            ring = self._outbound
            if self._out_last_avail != ring.avail_idx():
                continue
            ring.avail_event = self._out_last_avail
            await self._buffer_waiters.park()
        if in_kick():
            return
        self._sent_since_checkpoint += 1
        if self._sent_since_checkpoint >= SENDS_PER_CHECKPOINT:
            self._sent_since_checkpoint = 0
            await trio.lowlevel.checkpoint()
