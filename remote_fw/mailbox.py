"""A hardware mailbox: a 4-entry FIFO of 32-bit messages in one direction (TI K3 mailbox
cluster). rpmsg uses it for kicks: the message is the id of the vring that has news.

The two ends are two CPUs, here two threads: Linux's trio loop and the core's own. Each entry
carries the time it was posted, so the receiver can model its interrupt latency. The receiver
attaches a *doorbell* (`InterruptLine`: an eventfd its ISR task waits on in its own loop); it
rings when the FIFO goes from empty to non-empty, and the ISR then `take`s until the FIFO is
empty. A full FIFO refuses `try_send`; the sender's `on_space` rings when a
slot frees (see KickQueue). `sever` cuts the link for good: a stopped or crashed core's
thread, which may still be running, can no longer reach Linux, nor Linux it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import Callable

import trio

MAILBOX_FIFO_DEPTH = 4
MAX_LEAD = 500e-6
"""The most a sender posts ahead of a kick's due time to make up for the receiver's wake-up."""
LEAD_GAIN = 0.2

Doorbell = Callable[[], None]


class Mailbox:
    def __init__(self, name: str, depth: int = MAILBOX_FIFO_DEPTH) -> None:
        self.name = name
        self.depth = depth
        self._lock = threading.Lock()
        self._fifo: deque[tuple[int, float]] = deque()
        self._doorbell: Doorbell | None = None
        self._on_space: Doorbell | None = None
        self._sender_refused = False
        self.severed = False
        self.lead = 0.0
        """How much earlier than due a sender with a modelled latency should post, so that the
        receiver's handler runs on time: learnt from `delivered` (the receiver's wake-up lag)."""

    def __len__(self) -> int:
        """Messages in the FIFO now."""
        return len(self._fifo)

    def attach(self, doorbell: Doorbell | None) -> None:
        """Connect (None: disconnect) the receiver's interrupt line; rings at once if a message
        is already waiting."""
        if self.severed:  # never wait for a lock an abandoned core thread might hold
            return
        with self._lock:
            self._doorbell = doorbell
            if self._doorbell is not None and self._fifo:
                self._doorbell()

    def on_space(self, callback: Doorbell | None) -> None:
        """Connect the sender's 'a slot is free again' line (rings after a refused try_send)."""
        if self.severed:
            return
        with self._lock:
            self._on_space = callback

    def try_send(self, msg: int, posted: float) -> bool:
        """Post `msg`, stamped `posted` (time.monotonic()); False when the FIFO is full.
        After `sever` every message is accepted and dropped."""
        if self.severed:
            return True
        with self._lock:
            if len(self._fifo) >= self.depth:
                self._sender_refused = True
                return False
            self._fifo.append((msg, posted))
            if len(self._fifo) == 1 and self._doorbell is not None:
                self._doorbell()  # under the lock: a detached line is never rung afterwards
        return True

    def take(self) -> tuple[int, float] | None:
        """The oldest (message, posted time), or None when empty (the receiver's ISR)."""
        if self.severed:
            return None
        with self._lock:
            if not self._fifo:
                return None
            entry = self._fifo.popleft()
            on_space = self._on_space if self._sender_refused else None
            self._sender_refused = False
        if on_space is not None:
            on_space()
        return entry

    def delivered(self, due: float) -> None:
        """The receiver handles a kick that was due at `due` (its `posted` stamp) now."""
        late = time.monotonic() - due  # < 0: early; corrected faster than lateness
        self.lead = min(MAX_LEAD, max(0.0, self.lead + (LEAD_GAIN if late > 0 else 1.0) * late))

    def sever(self) -> None:
        """Disconnect both ends for good and forget what is queued. Never blocks for long: a
        core thread interrupted inside this mailbox may have left its lock taken."""
        self.severed = True
        if self._lock.acquire(timeout=0.1):
            try:
                self._fifo.clear()
                self._doorbell = None
                self._on_space = None
            finally:
                self._lock.release()


def loop_doorbell(handler: Callable[[], None]) -> Doorbell:
    """A doorbell that runs `handler` in the calling trio loop, rung from any thread; a
    doorbell of a loop that has ended rings nowhere."""
    token = trio.lowlevel.current_trio_token()

    def ring() -> None:
        try:
            token.run_sync_soon(handler)
        except trio.RunFinishedError:
            pass

    return ring


class InterruptLine:
    """A receiver's interrupt line: `ring` from any thread (an eventfd write, µs), `wait` in
    the receiving loop. Cheaper than TrioToken.run_sync_soon, which takes two loop passes."""

    def __init__(self, fd: int | None = None) -> None:
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC) if fd is None else fd

    def dup(self) -> InterruptLine:
        """A second handle on the same line, for a second task of the same loop (trio lets
        only one task at a time wait for a file descriptor); close it like the first."""
        return InterruptLine(os.dup(self._fd))

    def ring(self) -> None:
        try:
            os.eventfd_write(self._fd, 1)
        except OSError:  # closed: the receiver is gone
            pass

    async def wait(self) -> None:
        """Until rung (at once if it was rung since the last wait)."""
        await trio.lowlevel.wait_readable(self._fd)
        self.clear()

    async def rung(self) -> None:
        """Until rung, leaving the ring for whoever `clear`s it (`wait` without the clear)."""
        await trio.lowlevel.wait_readable(self._fd)

    def clear(self) -> None:
        """Forget the rings so far; the next `wait` sleeps until the next ring."""
        try:
            os.eventfd_read(self._fd)
        except BlockingIOError:
            pass

    def close(self) -> None:
        """Only after the mailbox has let go of `ring` (attach(None)), so that no sender can
        write to a file descriptor number that is reused meanwhile."""
        os.close(self._fd)
