"""When a core's loop has gone quiet: none of its tasks can run, and none will wake by itself soon.

A core's start-up has settled (RemoteCore.settled) once its firmware's `main` has returned or
waits for what only others can give (a message, a kick) or for a timer further away than
SETTLE_CUSHION. trio's `wait_all_tasks_blocked(cushion)` finds that by waiting the cushion out
with nothing happening, which costs every core's boot the whole cushion. Here the loop's own
alarm clocks are read instead: trio's deadlines and the core's timerfds (DeadlineTimer). With
none due within the cushion the loop is quiet at once; with one due, the cushion is waited out
as before and the question asked again. A task waiting for a worker thread or a file of its own
counts as waiting for others (the cushion caught those only when they took under 10 ms).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Callable

import trio

try:  # trio.testing's own function; importing trio.testing imports pytest when installed
    from trio._core import wait_all_tasks_blocked
except ImportError:  # pragma: no cover - a trio that moved it
    from trio.testing import wait_all_tasks_blocked

from .deadline_timer import DeadlineTimer

log = logging.getLogger(__name__)

SETTLE_CUSHION = 0.01
"""Seconds: a timer due sooner than this keeps the loop from counting as quiet."""

__all__ = ["SETTLE_CUSHION", "wait_all_tasks_blocked", "wait_quiet"]


async def wait_quiet(timer: DeadlineTimer, kicks_idle: Callable[[], bool]) -> None:
    """In the core's loop: return once all its other tasks are blocked, `kicks_idle()` (no
    kick waits for its modelled latency) and no trio deadline or timerfd of `timer` is due
    within SETTLE_CUSHION."""
    while True:
        await wait_all_tasks_blocked()
        if kicks_idle() and _next_wake(timer) > time.monotonic() + SETTLE_CUSHION:
            return  # and will stay so for the cushion at least
        await wait_all_tasks_blocked(SETTLE_CUSHION)  # something is about to happen: let it
        if kicks_idle():
            return  # nothing happened for a whole cushion: trio's own test


def _next_wake(timer: DeadlineTimer) -> float:
    """time.monotonic() of the loop's earliest alarm (-inf when trio's cannot be read: then
    the cushion is always waited out, as trio's own wait_all_tasks_blocked does)."""
    deadline = _trio_next_deadline()
    if deadline == -math.inf:
        return deadline
    return min(timer.next_wake(), deadline - trio.current_time() + time.monotonic())


def _trio_next_deadline() -> float:
    """The current trio loop's earliest deadline (trio.current_time(); inf: none). trio has no
    public API for it; without its internals (another trio version) -inf."""
    try:
        from trio._core._run import GLOBAL_RUN_CONTEXT

        return float(GLOBAL_RUN_CONTEXT.runner.deadlines.next_deadline())
    except (ImportError, AttributeError):
        log.debug("trio's deadlines not found: start-up waits out the settle cushion")
        return -math.inf
