"""Kicks that found the mailbox FIFO full, posted in order by a task, so a kick never blocks.

Both ends kick from paths that must not wait: Linux from a FUSE request, the remote from an
RX pass run inside Linux's kick (remote_fw/isr.py). A kick goes straight into the mailbox when
the FIFO has room and no earlier kick is still queued; otherwise it queues here and `run`
posts it as soon as the receiver frees a slot. None is dropped and the order is kept.
"""

from __future__ import annotations

from collections import deque

import trio

from .mailbox import Mailbox


class KickQueue:
    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox
        self._deferred: deque[int] = deque()
        self._forwarder = trio.lowlevel.ParkingLot()

    def kick(self, vring: int) -> None:
        """Notify the other side that `vring` has news, without waiting."""
        if self._deferred or not self._mailbox.try_send(vring):
            self._deferred.append(vring)
            self._forwarder.unpark()

    async def run(self) -> None:
        """Post the queued kicks, oldest first, until cancelled."""
        while True:
            while not self._deferred:
                await self._forwarder.park()
            await self._mailbox.send(self._deferred[0])
            self._deferred.popleft()
