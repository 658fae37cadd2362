"""A hardware mailbox: a 4-entry FIFO of 32-bit messages in one direction (TI K3 mailbox
cluster). rpmsg uses it for kicks: the message is the id of the vring that has news.

A full FIFO never drops: `send` waits for space, and waiting senders keep their order.
"""

from __future__ import annotations

from collections import deque

import trio

MAILBOX_FIFO_DEPTH = 4


class Mailbox:
    def __init__(self, name: str, depth: int = MAILBOX_FIFO_DEPTH) -> None:
        self.name = name
        self.depth = depth
        self._fifo: deque[int] = deque()
        self._waiting_senders: deque[tuple[int, trio.Event]] = deque()
        self._receivers = trio.lowlevel.ParkingLot()

    def __len__(self) -> int:
        """Messages in the FIFO now (waiting senders not counted)."""
        return len(self._fifo)

    @property
    def senders_waiting(self) -> int:
        return len(self._waiting_senders)

    def try_send(self, msg: int) -> bool:
        """Post without waiting; False when the FIFO is full (or others already wait)."""
        if self._waiting_senders or len(self._fifo) >= self.depth:
            return False
        self._fifo.append(msg)
        self._receivers.unpark()
        return True

    async def send(self, msg: int) -> None:
        """Post, waiting for a free FIFO slot in arrival order."""
        if self.try_send(msg):
            await trio.lowlevel.checkpoint_if_cancelled()
            return
        entry = (msg, trio.Event())
        self._waiting_senders.append(entry)
        try:
            await entry[1].wait()
        except BaseException:
            if not entry[1].is_set():
                self._waiting_senders.remove(entry)
            raise

    async def receive(self) -> int:
        """Take the oldest message, waiting for one (what the receiving ISR does)."""
        if self._fifo:
            await trio.lowlevel.checkpoint_if_cancelled()
        while not self._fifo:
            await self._receivers.park()
        msg = self._fifo.popleft()
        if self._waiting_senders:
            waiting_msg, delivered = self._waiting_senders.popleft()
            self._fifo.append(waiting_msg)
            delivered.set()
        return msg
