"""The Linux end of one core's rpmsg link: what virtio_rpmsg_bus does with the vrings and mailbox.

The Linux side calls `send` synchronously from its request handlers, so the hot path is one C
call (remote_fw/vring_build.py) that writes header, payload, descriptor and ring index. `run` is Linux's mailbox ISR + bottom half: the core,
another thread, rings its interrupt line (an eventfd), so a reply is handled in this task,
between Linux's other work, never inside the write (kick) that caused it. Every "notify me" (used_event) is followed
by a second look at the ring, since the core writes it at the same time.
"""

from __future__ import annotations

import logging
from typing import Callable

import trio

from .errors import PayloadTooLargeError
from .kick_queue import KickQueue
from .mailbox import InterruptLine, Mailbox
from .rpmsg_header import RPMSG_HDR_SIZE
from .shared_memory import VRING_HOST_TO_REMOTE, VRING_REMOTE_TO_HOST, SharedMemory
from .vring import VRING_DESC_F_WRITE, new_index

log = logging.getLogger(__name__)


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
        self._tx_addr = [shm.buffer_addr(self.num_bufs + i) for i in range(self.num_bufs)]
        self._last_sbuf = 0
        self._tx_last_used = 0
        self._rx_last_used = new_index()
        # Until a send() finds the ring full, Linux does not want TX-done interrupts.
        self._tx.used_event = 0xFFFF
        kick = False
        for i in range(self.num_bufs):
            self._rx.set_desc(i, shm.buffer_addr(i), self.buf_size, VRING_DESC_F_WRITE)
            kick |= self._rx.add_avail(i)
        if kick:
            self._kicks.kick(VRING_REMOTE_TO_HOST)

    def send(self, src: int, dst: int, payload: bytes) -> bool:
        """Queue one message to the remote; False when no TX buffer is free (nothing sent)."""
        n = len(payload)
        if n > self.mtu:
            raise PayloadTooLargeError(n, self.mtu)
        buf = self._get_tx_buf()
        if buf is None:
            self._want_tx_complete()
            buf = self._get_tx_buf()  # returned while we asked?
            if buf is None:
                return False
        if self._tx.post(buf, self._tx_addr[buf], src, dst, payload):  # header, copy, desc, avail
            self._kicks.kick(VRING_HOST_TO_REMOTE)
        return True

    def can_send(self) -> bool:
        """Would send() find a TX buffer? If not, on_tx_complete is armed (virtio_rpmsg_poll:
        a poller asks for the TX-done interrupt just as a blocked writer does)."""
        if self._last_sbuf < self.num_bufs or self._tx.used_idx() != self._tx_last_used:
            return True
        self._want_tx_complete()
        return self._tx.used_idx() != self._tx_last_used  # returned while we asked?

    def _want_tx_complete(self) -> None:
        # virtio_rpmsg_bus enables the TX-done interrupt only while someone waits for a buffer.
        self._tx.used_event = self._tx_last_used

    def _get_tx_buf(self) -> int | None:
        """First the never-used buffers in order, then those the remote returned (get_a_tx_buf)."""
        if self._last_sbuf < self.num_bufs:
            self._last_sbuf += 1
            return self._last_sbuf - 1
        if self._tx.used_idx() == self._tx_last_used:
            return None
        head, _len = self._tx.used_entry(self._tx_last_used)
        self._tx_last_used = (self._tx_last_used + 1) & 0xFFFF
        return head

    async def run(self) -> None:
        """Connect Linux's mailbox ISR for this core; until cancelled, each kick from the core
        is handled in this loop, between tasks (`_interrupt`)."""
        mailbox = self._from_remote
        irq = InterruptLine()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._kicks.run)
            mailbox.attach(irq.ring)
            try:
                while True:
                    while (entry := mailbox.take()) is not None:
                        mailbox.delivered(entry[1])
                        self._isr(entry[0])
                    await irq.wait()
                    # A request that came in with the interrupt (a read right after the
                    # write) is served first, as a syscall already under way would be.
                    await trio.lowlevel.cancel_shielded_checkpoint()
            finally:
                mailbox.attach(None)
                irq.close()

    def _isr(self, vring: int) -> None:
        if vring == VRING_REMOTE_TO_HOST:
            self._drain_rx()
        elif vring == VRING_HOST_TO_REMOTE:
            if self.on_tx_complete is not None:
                self.on_tx_complete()
        else:
            log.warning("mailbox: kick for unknown vring %d ignored", vring)

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
