"""Linux's interrupt lines from the cores' mailboxes, handled in C by the FUSE loop.

`InterruptLines` is what remote_fw's `HostTransport.run` is given as its interrupt controller
(fusedev/kernel/virtio_rpmsg_bus.py): each core's line (an eventfd) is added with its C handler
(`rpe_host_irq`), and the FUSE session's receive loop (fuse_session.py) waits for the lines as
it waits for /dev/fuse and runs the handlers in C (interrupt_lines.c). A reply from a core then
reaches the READ waiting for it with no pass of trio's loop and no Python.
"""
from __future__ import annotations

import errno
import os
from typing import Any

from fusedev.fuse._fuse_cffi import ffi, lib


class InterruptLines:
    """The lines one FUSE loop serves."""

    def __init__(self) -> None:
        irqs = lib.rpe_irqs_new()
        if irqs == ffi.NULL:
            raise OSError(errno.ENOMEM, "rpe_irqs_new")
        self.c: Any = ffi.gc(irqs, lib.rpe_irqs_free)
        self._owners: dict[int, object] = {}  # keep each handler's argument alive

    @property
    def handled(self) -> int:
        """Handler calls so far (for tests and the benchmark)."""
        return self.c.handled

    def add(self, fd: int, handler: int, arg: int, owner: object) -> None:
        """When eventfd `fd` is rung, the loop calls `int handler(void *arg)` in C."""
        err = lib.rpe_irqs_add(self.c, fd, handler, arg)
        if err < 0:
            raise OSError(-err, f"interrupt line {fd}: {os.strerror(-err)}")
        self._owners[fd] = owner

    def remove(self, fd: int) -> None:
        lib.rpe_irqs_remove(self.c, fd)
        self._owners.pop(fd, None)
