"""Sleeping to an absolute deadline, precise to microseconds, inside a core's trio loop.

trio's timers wait in epoll, whose timeout Python passes in whole milliseconds (rounded up):
a 20 µs sleep takes over a millisecond. Here a timerfd (CLOCK_MONOTONIC, nanosecond
resolution, no timer slack) wakes the loop instead, a little before the deadline, and the rest
is spun with os.sched_yield(), which releases the GIL on every turn, so Linux's thread and the
other cores keep running. How early to wake is learnt: the wake-up lateness of recent sleeps
(tens of µs on a virtual machine whose idle CPUs must be woken, a few µs on bare metal).
Measured precision is in docs/firmware.md ("Timing model").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import math
import os
import time
from collections import deque

import trio

log = logging.getLogger(__name__)

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = os.O_CLOEXEC
_TFD_TIMER_ABSTIME = 1
_SPIN_MIN, _SPIN_MAX, _SPIN_START = 10e-6, 300e-6, 100e-6


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _load_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.timerfd_settime.argtypes = [ctypes.c_int, ctypes.c_int,
                                         ctypes.POINTER(_Itimerspec), ctypes.c_void_p]
        return libc
    except (OSError, AttributeError):
        return None


_libc = _load_libc()


class DeadlineTimer:
    """One per core loop; any number of its tasks may sleep at once (one timerfd each)."""

    def __init__(self) -> None:
        self.spin = _SPIN_START
        self._free: list[int] = []
        self._armed: dict[int, float] = {}  # timerfd → when it wakes its sleeper
        self._late: deque[float] = deque(maxlen=16)

    def next_wake(self) -> float:
        """time.monotonic() at which the earliest sleeper's timerfd fires; inf: none armed. A
        core's start-up has settled only if nothing will wake its loop soon by itself."""
        return min(self._armed.values(), default=math.inf)

    async def sleep_until(self, deadline: float) -> None:
        """Return at `deadline` (time.monotonic()), not before. A deadline already past returns
        at once, without a checkpoint: the model's delays cost nothing once the emulator's own
        work has used them up."""
        wake = deadline - self.spin
        if wake > time.monotonic():
            await self._wait_timerfd(wake)
        while time.monotonic() < deadline:
            os.sched_yield()

    async def sleep(self, seconds: float) -> None:
        """A firmware's sleep: always a checkpoint, like trio.sleep(0)."""
        if seconds <= 0:
            await trio.lowlevel.checkpoint()
        else:
            await self.sleep_until(time.monotonic() + seconds)

    def close(self) -> None:
        for fd in self._free:
            os.close(fd)
        self._free.clear()

    async def _wait_timerfd(self, wake: float) -> None:
        fd = self._free.pop() if self._free else _new_timerfd()
        if fd < 0:  # no timerfd: trio's own (millisecond) timer
            await trio.sleep_until(trio.current_time() + wake - time.monotonic())
            return
        try:
            seconds = int(wake)
            spec = _Itimerspec(_Timespec(0, 0), _Timespec(seconds, int((wake - seconds) * 1e9)))
            _libc.timerfd_settime(fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None)
            self._armed[fd] = wake
            await trio.lowlevel.wait_readable(fd)
            try:
                os.read(fd, 8)
            except BlockingIOError:
                pass
        finally:
            self._armed.pop(fd, None)
            self._free.append(fd)  # settime on reuse resets a timer left armed by cancellation
        self._learn(time.monotonic() - wake)

    def _learn(self, late: float) -> None:
        self._late.append(late)
        self.spin = min(_SPIN_MAX, max(_SPIN_MIN, 1.25 * max(self._late) + 5e-6))


def _new_timerfd() -> int:
    if _libc is None:
        return -1
    fd = _libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
    if fd < 0:
        log.warning("timerfd_create failed (errno %d): core timers fall back to milliseconds",
                    ctypes.get_errno())
    return fd
