"""Wait queues, as the kernel's `wait_queue_head_t`: sleepers and poll tables wait on them.

A driver wakes its queue when the condition may have changed (a message arrived, a TX buffer
came back, the device was destroyed). Sleeping readers re-check their condition; poll waiters
are notified so the kernel polls again. Everything runs in one trio thread, so a sleeper that
registers before it awaits can never miss a wake.

A waiter may also be a plain callback, run inside `wake_up` itself: that is how a blocked FUSE
request is answered straight from the path that made it ready (a message arriving answers the
pending READ), without a trio task and the scheduling hop to it.
"""
from __future__ import annotations

from typing import Callable

import trio


class WaitQueue:
    """Sleepers (trio tasks or callbacks) and poll callbacks, woken together."""

    __slots__ = ("_waiters", "_pollers")

    def __init__(self) -> None:
        self._waiters: list[Callable[[], None]] = []
        self._pollers: dict[object, Callable[[], None]] = {}

    async def sleep(self) -> None:
        """Sleep until the next `wake_up` (or cancellation)."""
        event = trio.Event()
        wake = event.set
        self._waiters.append(wake)
        try:
            await event.wait()
        finally:
            if not event.is_set():
                self._waiters.remove(wake)

    def add_waiter(self, wake: Callable[[], None]) -> None:
        """Call `wake` (once) on the next `wake_up`, from inside it."""
        self._waiters.append(wake)

    def remove_waiter(self, wake: Callable[[], None]) -> None:
        """Forget a waiter that has not been woken (no-op if it was)."""
        try:
            self._waiters.remove(wake)
        except ValueError:
            pass

    def add_poller(self, key: object, notify: Callable[[], None]) -> None:
        """Register a poll waiter; it is called (once) on the next wake."""
        self._pollers[key] = notify

    def remove_poller(self, key: object) -> None:
        self._pollers.pop(key, None)

    def active(self) -> bool:
        """Does anyone sleep or poll here? (the kernel's `waitqueue_active`)"""
        return bool(self._waiters or self._pollers)

    def wake_up(self) -> None:
        """Wake every sleeper and notify every poll waiter.

        Waiters that register again while being woken wait for the next wake-up.
        """
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for wake in waiters:
                wake()
        if self._pollers:
            pollers, self._pollers = self._pollers, {}
            for notify in pollers.values():
                notify()
