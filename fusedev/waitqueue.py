"""Wait queues, as the kernel's `wait_queue_head_t`: sleepers and poll tables wait on them.

A driver wakes its queue when the condition may have changed (a message arrived, a TX buffer
came back, the device was destroyed). Sleeping readers re-check their condition; poll waiters
are notified so the kernel polls again. Everything runs in one trio thread, so a sleeper that
registers before it awaits can never miss a wake.
"""
from __future__ import annotations

from typing import Callable

import trio


class WaitQueue:
    """A set of trio sleepers and poll callbacks woken together."""

    __slots__ = ("_events", "_pollers")

    def __init__(self) -> None:
        self._events: list[trio.Event] = []
        self._pollers: dict[object, Callable[[], None]] = {}

    async def sleep(self) -> None:
        """Sleep until the next `wake_up` (or cancellation)."""
        event = trio.Event()
        self._events.append(event)
        try:
            await event.wait()
        finally:
            if not event.is_set():
                self._events.remove(event)

    def add_poller(self, key: object, notify: Callable[[], None]) -> None:
        """Register a poll waiter; it is called (once) on the next wake."""
        self._pollers[key] = notify

    def remove_poller(self, key: object) -> None:
        self._pollers.pop(key, None)

    def wake_up(self) -> None:
        """Wake every sleeper and notify every poll waiter."""
        if self._events:
            events, self._events = self._events, []
            for event in events:
                event.set()
        if self._pollers:
            pollers, self._pollers = self._pollers, {}
            for notify in pollers.values():
                notify()
