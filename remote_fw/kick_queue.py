"""Kicks on their way into a mailbox: posted in order, never dropped, never blocking the kicker.

Both ends kick from paths that must not wait: Linux from a FUSE request, the core from its RX
pass. A kick goes straight into the mailbox when the FIFO has room, no earlier kick is still
queued and no latency is modelled; otherwise it queues here and `run` posts it — at its due
time (kick time + `latency`, the core's interrupt latency towards Linux), less what the
receiver's thread is known to need to wake up (Mailbox.lead, at most `latency`), so that its
handler runs on time — and as soon as the receiver has freed a FIFO slot. The order is kept.
`busy` (a C int) is non-zero while kicks wait here, so that Linux's per-message path in C
(host_transport.c) never posts past them.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Awaitable, Callable

import trio

from ._vring_cffi import ffi
from .mailbox import InterruptLine, Mailbox


class KickQueue:
    def __init__(
        self,
        mailbox: Mailbox,
        latency: float = 0.0,
        sleep_until: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._mailbox = mailbox
        self._latency = latency
        self._sleep_until = sleep_until
        self._deferred: deque[tuple[int, float]] = deque()
        self._forwarder = trio.lowlevel.ParkingLot()
        self.busy = ffi.new("int *")

    @property
    def idle(self) -> bool:
        """No kick is waiting to be posted."""
        return not self._deferred

    def kick(self, vring: int, now: float | None = None) -> None:
        """Notify the other side that `vring` has news, without waiting; `now`: when the
        kick happens in the sender's model (default: the clock)."""
        if now is None:
            now = time.monotonic()
        if not self._latency:  # fast mode: due now, posted now unless earlier kicks wait
            if self._deferred or not self._mailbox.try_send(vring, now):
                self._defer(vring, now)
            return
        due = now + self._latency
        if (self._deferred or self._post_at(due) > time.monotonic()
                or not self._mailbox.try_send(vring, due)):
            self._defer(vring, due)

    def _defer(self, vring: int, due: float) -> None:
        self._deferred.append((vring, due))
        self.busy[0] = 1
        self._forwarder.unpark()

    def _post_at(self, due: float) -> float:
        """When to post a kick due at `due`: early by the receiver's wake-up lag."""
        return due - min(self._mailbox.lead, self._latency)

    async def run(self) -> None:
        """Post the queued kicks, oldest first, each at its due time, until cancelled.
        Runs in the sender's loop."""
        mailbox, deferred = self._mailbox, self._deferred
        space = InterruptLine()
        mailbox.on_space(space)
        try:
            while True:
                while not deferred:
                    await self._forwarder.park()
                vring, due = deferred[0]
                post_at = self._post_at(due)
                if self._sleep_until is not None and post_at > time.monotonic():
                    await self._sleep_until(post_at)
                while not mailbox.try_send(vring, due):
                    await space.wait()
                deferred.popleft()
                self.busy[0] = len(deferred)
        finally:
            mailbox.on_space(None)
            space.close()
