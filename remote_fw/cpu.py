"""A remote core's CPU: a daemon thread running the core's own trio loop.

On the board the remote is another CPU; here it is another thread of the emulator process.
Whatever its firmware does — raise any exception (SystemExit and KeyboardInterrupt included),
block in a system call, spin — stays in this thread: Linux's loop and the other cores go on.
The two sides meet only in the shared memory and the mailboxes, whose doorbells schedule work
in the receiver's loop through its TrioToken.

A thread cannot be killed. `halt` cancels the loop (it ends at the firmware's next await);
a loop stuck inside one step gets an asynchronous exception too (`abandon`), which ends a
Python loop at its next bytecode but not a blocking call; such a thread is left behind, and
since every start builds new shared memory and mailboxes and severs the old ones, it can no
longer reach Linux.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
import time
from typing import Awaitable, Callable

import trio

from .cpu_idle import CpuIdle

log = logging.getLogger(__name__)

SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits (CPython's default is 5 ms). A core
spinning in Python then delays Linux's thread by at most this much per step, and a core's
deadline is not missed by more than this while Linux's thread computes."""


STUCK = 0.05
"""Seconds inside one step after which a halted loop is interrupted, not just cancelled."""


class CoreHalted(BaseException):
    """Raised asynchronously in a core thread stuck in a step when its run is abandoned."""


class _LoopWatch(trio.abc.Instrument):
    """When the loop left its I/O wait: a loop that does not come back is stuck.

    `on_busy`, when set (from the watchdog's thread), is called once, on the loop's next
    step: an idle core's watchdog sleeps until then instead of looking every so often. One
    attribute read per step is all it costs the core while nobody waits."""

    busy_since: float | None = None
    on_busy: Callable[[], None] | None = None

    def after_io_wait(self, timeout: float) -> None:
        self.busy_since = time.monotonic()
        wake = self.on_busy
        if wake is not None:
            self.on_busy = None
            wake()  # must not raise: trio drops an instrument whose hook raises

    def before_io_wait(self, timeout: float) -> None:
        self.busy_since = None


def _no_wakeup_preemption() -> None:
    """Let a core's thread, once woken, wait for the CPU until the thread that woke it sleeps.

    A kick from Linux's thread (or a reply the core sends) wakes the other thread, and the
    scheduler would often switch to it at once; but that thread needs the GIL, which the waker
    still holds, so it sleeps again at once: two context switches for nothing, on every
    hand-over that shares a CPU. SCHED_BATCH is SCHED_OTHER without wakeup preemption
    (kernel/sched/fair.c, the wake-up check `check_preempt_wakeup_fair`, `wakeup_preempt_fair`
    in later kernels: a batch task does not preempt), so the woken core runs when the waker
    blocks and gives the GIL up. Measured pinned (client, Linux and the core on one CPU,
    `--timing fast`, 4 alternate runs): 119-162 us per round trip against 158-197 us. Any user
    may switch to it; where it is refused the thread stays as it was.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))  # 0: this thread
    except (AttributeError, OSError) as exc:
        log.debug("core thread keeps its scheduling policy: %s", exc)


class CoreCpu:
    def __init__(
        self,
        name: str,
        program: Callable[[], Awaitable[None]],
        on_exit: Callable[[BaseException | None], None],
    ) -> None:
        """`program` runs in the thread's loop; `on_exit(error)` is called from the thread
        when the loop has ended (error None: it was halted or ended by itself)."""
        self.name = name
        self._program = program
        self._on_exit = on_exit
        self._lock = threading.Lock()
        self._token: trio.lowlevel.TrioToken | None = None
        self._scope: trio.CancelScope | None = None
        self._halted = False
        self._watch = _LoopWatch()
        self.idle = CpuIdle(self._watch)
        """Lets the core's ISR task wait for its next interrupt in C (cpu_idle.py)."""
        self._thread = threading.Thread(target=self._run, name=f"core {name}", daemon=True)

    def start(self) -> None:
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> bool:
        """Wait (blocking) up to `timeout` s for the thread to end; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stuck_for(self) -> float:
        """Seconds the loop has been inside one step (0 while it waits for work)."""
        since = self._watch.busy_since
        return 0.0 if since is None else max(0.0, time.monotonic() - since)

    async def wait_stuck(self, limit: float) -> float:
        """In another thread's trio loop (Linux's watchdog): return once the core's loop has
        been inside one step for `limit` seconds, with how long it has been. Sleeps until that
        step's limit while the loop is busy, and while it waits for work until its next step
        begins (the loop wakes this one then): an idle core costs its watchdog no wake-ups, a
        busy one a wake-up per `limit`, not one per step."""
        watch = self._watch
        while True:
            since = watch.busy_since
            if since is None:
                await self._next_step(watch)
                # Look next when the step that woke us could reach the limit, even if it ends
                # sooner: while messages flow, each step would otherwise wake this loop.
                since = watch.busy_since or time.monotonic()
            await trio.sleep(max(0.0, since + limit - time.monotonic()))
            stuck = self.stuck_for()
            if stuck >= limit:
                return stuck

    @staticmethod
    async def _next_step(watch: _LoopWatch) -> None:
        """Wait (in the caller's loop) until the core's loop leaves its I/O wait."""
        token = trio.lowlevel.current_trio_token()
        stepped = trio.Event()

        def wake() -> None:  # in the core's thread
            try:
                token.run_sync_soon(stepped.set)
            except trio.RunFinishedError:
                pass

        watch.on_busy = wake
        try:
            if watch.busy_since is None:  # else it stepped meanwhile, perhaps without waking us
                await stepped.wait()
        finally:
            if watch.on_busy is wake:
                watch.on_busy = None

    def halt(self) -> None:
        """Cancel the program, from any thread; it ends at its next checkpoint."""
        with self._lock:
            self._halted = True
            token, scope = self._token, self._scope
        if token is not None and scope is not None:
            try:
                token.run_sync_soon(scope.cancel)
            except trio.RunFinishedError:
                pass

    def abandon(self) -> None:
        """Halt, and interrupt a step that does not return (a Python loop ends; a blocking
        call ends when it returns). The thread is not waited for."""
        self.halt()
        ident = self._thread.ident
        if ident is not None and self._thread.is_alive() and self.stuck_for() > STUCK:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident),
                                                       ctypes.py_object(CoreHalted))

    def _run(self) -> None:
        error: BaseException | None = None
        _no_wakeup_preemption()
        try:
            try:
                trio.run(self._main, instruments=[self._watch, self.idle])
            except BaseException as exc:  # anything the firmware raised stays in this core
                error = exc
            self._on_exit(error)
        except BaseException:  # an exception injected late, or a Linux loop that has ended
            log.debug("%s: core thread ended abruptly", self.name, exc_info=True)

    async def _main(self) -> None:
        with trio.CancelScope() as scope:
            with self._lock:
                if self._halted:
                    scope.cancel()
                self._token = trio.lowlevel.current_trio_token()
                self._scope = scope
            await self._program()
