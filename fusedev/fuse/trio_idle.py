"""What the FUSE loop does while trio has nothing else to run: it waits in C, where requests
and Linux's interrupt lines are served without a pass of trio's loop.

trio tells an instrument when its loop is about to sleep and for how long nothing can run
(`before_io_wait(timeout)`), and when any task becomes runnable or runs (`task_scheduled`,
`before_task_step`). From these:
- While trio sleeps, the lines' handlers run in C (interrupt_lines.c `rpe_irqs_wait`): a
  core's reply reaches the READ waiting for it without waking trio. A request ends that wait
  and trio serves it.
- While nothing but the FUSE task has run or become runnable since trio found nothing to run
  (`struct rpe_idle` quiet), the FUSE task itself sleeps in C when /dev/fuse is empty, and
  serves what comes in the same step (receive_loop.c `rpe_loop_idle`): a WRITE, the READ
  after it and the interrupt that answers it need neither trio nor, unless an operation is
  Python's, the GIL. An operation that makes a task runnable ends the quiet, and so does
  trio's next deadline: the task then waits through trio as before.
"""

from __future__ import annotations

import time

import trio

from fusedev.fuse._fuse_cffi import ffi, lib
from fusedev.fuse.interrupt_lines import InterruptLines


class TrioIdle(trio.abc.Instrument):
    def __init__(self, lines: InterruptLines, trio_fd: int, fuse_fd: int) -> None:
        self._lines = lines.c
        self._trio_fd = trio_fd
        self._fuse_fd = fuse_fd
        self._token = trio.lowlevel.current_trio_token()
        self._task = trio.lowlevel.current_task()
        """The FUSE task: the one whose steps keep the quiet."""
        self.c = ffi.new("struct rpe_idle *")
        """quiet and deadline_ns (time.monotonic_ns()) for rpe_loop_idle, and its counters: sleeps,
        and how many were woken by a request or a line and served on in the step."""

    def before_io_wait(self, timeout: float) -> None:
        idle = self.c
        idle.quiet = timeout > 0  # 0: something is runnable, or a timer is due
        idle.deadline_ns = time.monotonic_ns() + int(timeout * 1e9)
        if timeout > 0 and self._lines.n and lib.rpe_irqs_wait(
                self._lines, self._trio_fd, self._fuse_fd, int(timeout * 1e9)):
            # The whole timeout went by here: trio's own wait, next, would wait it again.
            self._token.run_sync_soon(_nothing)

    def task_scheduled(self, task: trio.lowlevel.Task) -> None:
        if task is not self._task:
            self.c.quiet = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is not self._task:
            self.c.quiet = 0


def _nothing() -> None:
    """Scheduled only to wake trio's wait (run_sync_soon writes to trio's wake-up socket)."""
