"""A mounted libfuse session driven from trio: wait for the session fd, receive, process.

`FuseMount.serve()` mounts, answers requests until cancelled or unmounted from outside, and
always unmounts on the way out (normal exit, Ctrl-C, SIGTERM handled by the caller, error).
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
from pathlib import Path
from typing import Any

import trio

from fusedev.fuse import mountpoint
from fusedev.fuse._fuse_cffi import ffi, lib
# Imported from the C entry points so that they are registered with libfuse's ops table.
from fusedev.fuse.fuse_entry_points import Operations
from fusedev.fuse.interrupt_lines import InterruptLines
from fusedev.fuse.trio_idle import TrioIdle
from fusedev.fuse.vfs import Directory

log = logging.getLogger(__name__)

FSNAME = "rpmsg-emu"

# Requests answered in a row before the receive loop lets other trio tasks run. A client that
# always has its next request queued (one pinned to the daemon's CPU runs as soon as it gets its
# reply) would otherwise never let /dev/fuse report EAGAIN, starving firmware tasks, timers and
# signal handling (SIGTERM). A request costs ~5-15 us and a checkpoint ~3 us: 64 requests bound
# the others' wait to about 1 ms for under 1 % of throughput.
REQUESTS_PER_CHECKPOINT = 64

# How long the receive loop busy-polls an empty /dev/fuse before sleeping, while requests keep
# coming (receive_loop.c `rpe_loop_spin`: adaptive, never when idle). Waking a sleeping daemon
# from another CPU costs tens of microseconds on a VM; a client that answers its reply within
# this window finds us awake. 0 turns busy-polling off.
SPIN_NS = int(os.environ.get("RPMSG_EMU_FUSE_SPIN_NS", "50000"))


def spin_ns() -> int:
    """SPIN_NS, or 0 when this process may run on one CPU only (`taskset -c N`).

    On one CPU nobody can send a request while we poll: a client on our CPU runs only when we
    yield, and a core's thread of ours needs the CPU we spin on (measured pinned: the toy echo
    0.99x the C floor without polling, 1.29x with; the emulator's write stream 0.35x and 0.12x).
    """
    return SPIN_NS if len(os.sched_getaffinity(0)) > 1 else 0


def _trio_internals() -> tuple[Any, int]:
    """trio's run queue and epoll fd, which the busy-poll watches to yield at once to other work.

    trio has no public API for either (`current_statistics()` costs ~4 us, more than a request
    is worth); without them (another trio version) we checkpoint after every burst and spin
    watching /dev/fuse alone, which is correct but slower.
    """
    try:
        from trio._core._run import GLOBAL_RUN_CONTEXT
        runner = GLOBAL_RUN_CONTEXT.runner
        return runner, runner.io_manager._epoll.fileno()
    except (ImportError, AttributeError):
        log.debug("trio internals not found: busy-polling without trio's wake-ups")
        return None, -1


class FuseMount:
    """One FUSE mount of a vfs tree."""

    def __init__(self, root: Directory, path: str | os.PathLike[str], *,
                 allow_other: bool = False, debug: bool = False) -> None:
        self.root = root
        self.path = Path(path)
        self.allow_other = allow_other
        self.debug = debug
        self.ops: Operations | None = None
        self.irq_lines = InterruptLines()
        """Linux's interrupt lines from the cores, whose handlers the receive loop runs in C."""
        self.trio_idle: TrioIdle | None = None
        """How the receive loop waits while trio has nothing else to run (None: not serving)."""
        self._cancel = trio.CancelScope()

    def _mount_args(self) -> list[bytes]:
        options = ["default_permissions", f"fsname={FSNAME}", f"subtype={FSNAME}"]
        if self.allow_other:
            options.append("allow_other")
        args = [FSNAME.encode(), b"-o", ",".join(options).encode()]
        if self.debug:
            args.append(b"-d")
        return args

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        """Mount, report started, serve until `close()` or an outside unmount."""
        mountpoint.prepare(self.path)
        with self._cancel:
            async with trio.open_nursery() as nursery:
                ops = self.ops = Operations(self.root, nursery)
                handle = ffi.new_handle(ops)
                argv_items = [ffi.new("char[]", a) for a in self._mount_args()]
                argv = ffi.new("char *[]", argv_items)
                session = lib.rpe_session_new(len(argv_items), argv, handle)
                if session == ffi.NULL:
                    raise OSError(errno.EINVAL, "fuse_session_new failed (see stderr)")
                try:
                    if lib.fuse_session_mount(session, os.fsencode(self.path)) != 0:
                        raise OSError(errno.EIO, f"cannot mount FUSE on {self.path}")
                    ops.session = session
                    try:
                        log.info("mounted on %s", self.path)
                        nursery.start_soon(ops.run_invalidations)
                        task_status.started()
                        await self._receive_loop(session)
                    finally:
                        ops.abandon_waiting()
                        lib.fuse_session_unmount(session)
                        ops.session = ffi.NULL
                        log.info("unmounted %s", self.path)
                finally:
                    lib.fuse_session_destroy(session)
                    del handle
                nursery.cancel_scope.cancel()

    async def _receive_loop(self, session: Any) -> None:
        """Serve until unmounted: the C loop (`rpe_loop_serve`) reads and dispatches and runs
        the rung interrupt lines' handlers, trio waits. While trio has nothing else to run,
        the waiting is in C too (trio_idle.py): the lines are handled while trio sleeps, and
        the loop sleeps and serves on in its own step while nothing else has run.

        Each call answers a burst of requests; its status says what trio must do next
        (receive_loop.c documents the codes and the busy-polling).
        """
        fd = lib.fuse_session_fd(session)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        runner, wake_fd = _trio_internals()
        loop = lib.rpe_loop_new(session, wake_fd, spin_ns(), self.irq_lines.c)
        if loop == ffi.NULL:
            raise OSError(errno.ENOMEM, "rpe_loop_new")
        idle = None
        if wake_fd >= 0:
            idle = self.trio_idle = TrioIdle(self.irq_lines, wake_fd, fd)
            trio.lowlevel.add_instrument(idle)
        try:
            while True:
                status = lib.rpe_loop_serve(loop, REQUESTS_PER_CHECKPOINT)
                if status == lib.RPE_IDLE and idle is not None and idle.c.quiet:
                    status = lib.rpe_loop_idle(loop, idle.c, REQUESTS_PER_CHECKPOINT)
                if status == lib.RPE_DRAINED:
                    # Our operations may have woken tasks: they run before we spin.
                    if runner is None or runner.runq:
                        await trio.lowlevel.checkpoint()
                elif status == lib.RPE_IDLE:
                    await trio.lowlevel.wait_readable(loop.epfd)
                elif status in (lib.RPE_BUSY, lib.RPE_WOKEN):
                    await trio.lowlevel.checkpoint()  # busy: let the other tasks run
                elif status == lib.RPE_GONE:
                    return  # unmounted from outside
                else:
                    raise OSError(-status, "reading /dev/fuse failed")
        finally:
            if idle is not None:
                trio.lowlevel.remove_instrument(idle)
            log.debug("served %d requests; busy-polled %d times, %d caught a request; "
                      "handled %d interrupts; slept %d times in C while trio slept and %d in "
                      "the loop's step", loop.served, loop.spins, loop.spin_hits,
                      self.irq_lines.handled, self.irq_lines.c.waits,
                      idle.c.sleeps if idle is not None else 0)
            lib.rpe_loop_free(loop)

    def close(self) -> None:
        """Stop serving; `serve()` unmounts and returns."""
        self._cancel.cancel()

