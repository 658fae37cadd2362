"""A core's idle: its ISR task waits for the next mailbox interrupt in C (remote_fw/cpu_idle.c)
when nothing else of the core's loop can run, instead of going through a pass of trio's loop.

trio tells an instrument when its loop is about to sleep, with how long nothing can run
(`before_io_wait(timeout)`), and when any task becomes runnable or runs (`task_scheduled`,
`before_task_step`). So the ISR task, with no kick left, knows in its own step whether its loop
would only go to sleep: nothing ran or became runnable but itself since the loop last found
nothing to run. Then it sleeps on its line in C and goes on in the same step when the line
rings: an echo's steady state is one step of the ISR task, per message as a board's core
would run it. Anything else ends that sleep and the task waits through trio as before: trio's
epoll set becoming readable (another fd, a timerfd of the core's timer, a wake-up from another
thread such as `halt`) or its next deadline (any `trio.sleep`).

When the process may use more than one CPU, the wait first polls the line for up to
CORE_SPIN_NS (adaptive, cpu_idle.c): a kick that follows soon finds the core awake instead of
paying a cross-CPU wake-up. On one CPU polling only delays whoever would ring, and is off.

trio's epoll set has no public API; without it (another trio version) the ISR always waits
through trio, which is correct and a little slower.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Protocol

import trio

from ._vring_cffi import ffi, lib

log = logging.getLogger(__name__)

CORE_SPIN_NS = int(os.environ.get("RPMSG_EMU_CORE_SPIN_NS", "50000"))
"""How long a core's ISR polls its line before sleeping, while kicks keep coming (0: never)."""


class IoWaitWatch(Protocol):
    """The core's watchdog view of its loop (cpu.py `_LoopWatch`): asleep or inside a step."""

    def before_io_wait(self, timeout: float) -> None: ...

    def after_io_wait(self, timeout: float) -> None: ...


class CpuIdle(trio.abc.Instrument):
    def __init__(self, watch: IoWaitWatch) -> None:
        self._watch = watch
        self._isr: trio.lowlevel.Task | None = None
        self._loop_fd = -1
        self._quiet = False
        """Nothing but the ISR task has run or become runnable since trio found nothing to run."""
        self._deadline = 0.0
        """time.monotonic() of trio's next timer then (nothing of trio's is due before)."""
        self.c = ffi.new("struct rpe_wfi *")
        """The C wait's polling window and counters: waits, waits that ended with the line
        rung, polls and polls that caught it (tests, benchmark)."""

    def serve(self) -> None:
        """Called by the ISR task in the core's loop: it is the task that may sleep in C."""
        self._isr = trio.lowlevel.current_task()
        self._loop_fd = _trio_epoll_fd()
        spin = CORE_SPIN_NS if len(os.sched_getaffinity(0)) > 1 else 0
        self.c.spin_max_ns = self.c.window_ns = max(0, spin)

    def before_io_wait(self, timeout: float) -> None:
        self._quiet = timeout > 0  # 0: something is runnable, or a timer is due
        self._deadline = time.monotonic() + timeout

    def task_scheduled(self, task: trio.lowlevel.Task) -> None:
        if task is not self._isr:
            self._quiet = False

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is not self._isr:
            self._quiet = False

    def wait_for_interrupt(self, line_fd: int) -> bool:
        """In the ISR task, with no kick left: when the loop has nothing else to run, sleep in
        C until `line_fd` rings and return True (the ring cleared: take the kick now). False
        when the ISR must wait through trio instead (at once, or once anything else is due)."""
        if not self._quiet or self._loop_fd < 0:
            return False
        watch = self._watch
        watch.before_io_wait(0.0)  # asleep, as far as the watchdog is concerned
        rung = lib.rpe_cpu_wfi(self.c, line_fd, self._loop_fd, self._deadline)
        watch.after_io_wait(0.0)
        return rung == lib.RPE_WFI_RUNG


def _trio_epoll_fd() -> int:
    """The current trio loop's epoll fd (-1 when trio's internals are not as expected)."""
    try:
        from trio._core._run import GLOBAL_RUN_CONTEXT

        return int(GLOBAL_RUN_CONTEXT.runner.io_manager._epoll.fileno())
    except (ImportError, AttributeError):
        log.debug("trio's epoll set not found: a core's ISR always waits through trio")
        return -1
