"""remoteproc_debugfs: /sys/kernel/debug/remoteproc/remoteprocN/{name,crash,recovery,trace0}.

`crash` takes the crash types the kernel knows (mmu_fault, watchdog, fatal_error) and makes
the core crash, which is how a test kills a remote core; `trace0` shows the core's trace
buffer (what its firmware logged).
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from fusedev.fileops import FsError
from fusedev.vfs import Directory

if TYPE_CHECKING:
    from fusedev.kernel.remoteproc import Rproc


CRASH_TYPES = ("mmu_fault", "watchdog", "fatal_error")


def add_debugfs(parent: Directory, rproc: Rproc) -> Directory:
    directory = parent.mkdir(f"remoteproc{rproc.index}", mode=0o700)

    def crash(data: bytes) -> None:
        word = data.decode(errors="replace").rstrip("\n")
        if word not in CRASH_TYPES:
            raise FsError(errno.EINVAL)
        rproc.crash(word)

    directory.attribute("name", lambda: f"{rproc.name}\n", mode=0o400)
    directory.attribute("crash", store=crash, mode=0o200)
    directory.attribute("recovery", rproc.show_recovery, rproc.store_recovery, mode=0o600)
    directory.attribute("trace0", rproc.core.trace_text, mode=0o400)
    return directory
