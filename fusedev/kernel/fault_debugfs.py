"""/sys/kernel/debug/rpmsg_emu/faults/remoteprocN: fault injection at run time.

Not a kernel interface: it lives under rpmsg_emu/, the emulator's own debugfs directory, next
to trace_pipe. Reading a file shows the core's plan as `key=value` lines; writing sets a new
plan, in the board file's keys and units (kernel_cfg/core_faults.py), words separated by
spaces or newlines: `echo "drop_tx=2 delay_us=150" > .../faults/remoteproc0`. `clear` (or an
empty write) removes every fault. A bad key or value is EINVAL, and the plan stays as it was.
"""
from __future__ import annotations

import errno
import logging
from typing import TYPE_CHECKING

from kernel_cfg.core_faults import FAULT_KEYS, UNITS, fault_problem, parse_fault_word

from fusedev.fuse.fileops import FsError
from fusedev.kernel.remoteproc import fault_plan
from fusedev.kernel.remoteproc_debugfs import DebugfsAttribute
from fusedev.fuse.vfs import Directory

if TYPE_CHECKING:
    from fusedev.kernel.remoteproc import Rproc

log = logging.getLogger(__name__)


def add_fault_files(parent: Directory, rprocs: list[Rproc]) -> None:
    """One file per remote processor under parent/faults."""
    faults = parent.mkdir("faults", mode=0o755)
    for rproc in rprocs:
        faults.add(rproc.dev.name, DebugfsAttribute(lambda r=rproc: _show(r),
                                                    lambda data, r=rproc: _store(r, data),
                                                    0o600))


def _show(rproc: Rproc) -> str:
    plan = rproc.core.faults.plan
    lines = []
    for key in FAULT_KEYS:
        name, scale = UNITS.get(key, (key, None))
        value = getattr(plan, name)
        if value not in (0, 0.0, False, None, ""):
            lines.append(f"{key}={value / scale:.6g}" if scale else f"{key}={value}")
    return "".join(f"{line}\n" for line in lines) or "none\n"


def _store(rproc: Rproc, data: bytes) -> None:
    words = data.decode(errors="replace").split()
    table: dict[str, object] = {}
    for word in words:
        if word == "clear" and len(words) == 1:
            break
        key, sep, text = word.partition("=")
        value = parse_fault_word(key, text) if sep else None
        if value is None or fault_problem(key, value):
            raise FsError(errno.EINVAL, f"fault {word!r}: {fault_problem(key, value) or 'KEY=VALUE'}")
        table[key] = value
    try:
        plan = fault_plan(table)
    except ValueError as exc:
        raise FsError(errno.EINVAL, str(exc)) from exc
    rproc.core.inject(plan)
    rproc.kernel.trace.event(rproc.name, "fault", fault="plan", plan=table)
    log.info("%s: fault injection plan %s", rproc.name, table or "cleared")

