"""A hardware mailbox: a 4-entry FIFO of 32-bit messages in one direction (TI K3 mailbox
cluster). rpmsg uses it for kicks: the message is the id of the vring that has news.

A full FIFO never drops: `send` waits for space, and waiting senders keep their order.

The receiving side may attach its interrupt handler: a message posted while the FIFO is empty
and the handler is not running is handed to it at once, inside `try_send` — an idle CPU takes
the interrupt immediately. Otherwise the message queues and the ISR task takes it with
`receive`, as before. That saves the trio task switch on every kick of the hot path.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

import trio

MAILBOX_FIFO_DEPTH = 4


class Mailbox:
    def __init__(self, name: str, depth: int = MAILBOX_FIFO_DEPTH) -> None:
        self.name = name
        self.depth = depth
        self._fifo: deque[int] = deque()
        self._waiting_senders: deque[tuple[int, trio.Event]] = deque()
        self._receivers = trio.lowlevel.ParkingLot()
        self._handler: Callable[[int], None] | None = None
        self._in_handler = False

    def __len__(self) -> int:
        """Messages in the FIFO now (waiting senders not counted)."""
        return len(self._fifo)

    @property
    def senders_waiting(self) -> int:
        return len(self._waiting_senders)

    def attach(self, handler: Callable[[int], None] | None) -> None:
        """Set (or with None, remove) the receiver's synchronous interrupt handler."""
        self._handler = handler

    def try_send(self, msg: int) -> bool:
        """Post without waiting; False when the FIFO is full (or others already wait)."""
        if self._waiting_senders or len(self._fifo) >= self.depth:
            return False
        handler = self._handler
        if handler is not None and not self._fifo and not self._in_handler:
            self._in_handler = True
            try:
                handler(msg)
            finally:
                self._in_handler = False
            return True
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
