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
from fusedev.fuse.vfs import Directory

log = logging.getLogger(__name__)

FSNAME = "rpmsg-emu"

# Requests answered in a row before the receive loop lets other trio tasks run. A client that
# always has its next request queued (one pinned to the daemon's CPU runs as soon as it gets its
# reply) would otherwise never let /dev/fuse report EAGAIN, starving firmware tasks, timers and
# signal handling (SIGTERM). A request costs ~5-15 us and a checkpoint ~3 us: 64 requests bound
# the others' wait to about 1 ms for under 1 % of throughput.
REQUESTS_PER_CHECKPOINT = 64


class FuseMount:
    """One FUSE mount of a vfs tree."""

    def __init__(self, root: Directory, path: str | os.PathLike[str], *,
                 allow_other: bool = False, debug: bool = False) -> None:
        self.root = root
        self.path = Path(path)
        self.allow_other = allow_other
        self.debug = debug
        self.ops: Operations | None = None
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
        fd = lib.fuse_session_fd(session)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        buf = ffi.new("struct fuse_buf *")
        try:
            while not lib.fuse_session_exited(session):
                await trio.lowlevel.wait_readable(fd)
                served = 0
                while True:
                    res = lib.fuse_session_receive_buf(session, buf)
                    if res == -errno.EAGAIN:
                        break
                    if res == -errno.EINTR:
                        continue
                    if res <= 0:
                        if res < 0:
                            raise OSError(-res, "reading /dev/fuse failed")
                        return  # unmounted from outside
                    lib.fuse_session_process_buf(session, buf)
                    served += 1
                    if served % REQUESTS_PER_CHECKPOINT == 0:
                        await trio.lowlevel.checkpoint()  # busy: let the other tasks run
        finally:
            lib.rpe_free_buf(buf)

    def close(self) -> None:
        """Stop serving; `serve()` unmounts and returns."""
        self._cancel.cancel()

