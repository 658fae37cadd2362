"""`RpmsgBoard`: what the `rpmsg_board` fixture gives a test — a mounted board to act on.

Everything goes through the mounted tree, as a user (or a test script on a real board) would
do it: a core starts and stops through `/sys/class/remoteproc/remoteprocN/state`, crashes
through `/sys/kernel/debug/remoteproc/remoteprocN/crash`, and the trace is a reader of
`/sys/kernel/debug/rpmsg_emu/trace_pipe`. So what a test does here is also what it could do
on hardware, and those writes need root as they do there (docs/cli.md, `run --map-root`).

The object is path-like for code written against the old fixture, which yielded the root
directory: `os.fspath(board)`, `str(board)`, `board / "dev"` and Path methods such as
`board.exists()` act on the root.

Fault injection: the emulator's own controls live in its debugfs directory, `board.debugfs`
(`/sys/kernel/debug/rpmsg_emu/`, next to `trace_pipe`). Write to the files there as a user
would; this class adds no wrapper of its own for them, so it never offers a control the
running emulator does not have.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any, Iterator

# drivers/remoteproc/remoteproc_debugfs.c, rproc_crash_write: the crash type is an unsigned
# integer, enum rproc_crash_type in include/linux/remoteproc.h.
RPROC_MMUFAULT, RPROC_WATCHDOG, RPROC_FATAL_ERROR = 0, 1, 2


class Core:
    """One remote processor, found by its `remoteprocN` directory."""

    def __init__(self, root: Path, remoteproc: str, rproc_id: int | None,
                 ti_name: str | None, device: str) -> None:
        self.remoteproc = remoteproc
        self.rproc_id = rproc_id
        self.ti_name = ti_name
        self.device = device
        self.sysfs = root / "sys/class/remoteproc" / remoteproc
        self.debugfs = root / "sys/kernel/debug/remoteproc" / remoteproc

    def __repr__(self) -> str:
        return f"<Core {self.remoteproc} {self.device} rproc id {self.rproc_id}>"

    @property
    def state(self) -> str:
        return (self.sysfs / "state").read_text().strip()

    @property
    def firmware(self) -> str:
        return (self.sysfs / "firmware").read_text().strip()

    def start(self) -> None:
        """`echo start > state`; OSError with the kernel's errno when it refuses."""
        _write(self.sysfs / "state", "start")

    def stop(self) -> None:
        """`echo stop > state`: channels and eptdevs go, their readers get EPIPE."""
        _write(self.sysfs / "state", "stop")

    def crash(self, crash_type: int = RPROC_WATCHDOG) -> None:
        """`echo N > crash` in the core's debugfs directory (rproc_report_crash)."""
        _write(self.debugfs / "crash", str(crash_type))

    def inject_faults(self, **keys: object) -> None:
        """Fault injection now, keys as in a board's [cores.<id>.faults] (drop_tx=2,
        stall=True…); no keys clears it. Through rpmsg_emu/faults/remoteprocN in debugfs."""
        words = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in keys.items()]
        _write(self.debugfs.parents[1] / "rpmsg_emu/faults" / self.remoteproc,
               " ".join(words) or "clear")


class Trace:
    """Messages through the board from the moment of opening: `for message in trace`.

    Iteration blocks until the next record (trace_pipe semantics); records are
    `fusedev.kernel.trace_record.Message` (time, core, direction, src, dst, payload) or `Event`.
    """

    def __init__(self, root: Path) -> None:
        from fusedev.cli.trace_view import TRACE_PIPE

        self._pipe: IO[str] = open(root / TRACE_PIPE, encoding="utf-8", buffering=1)

    def __iter__(self) -> Iterator[Any]:
        from fusedev.kernel.trace_record import parse_line

        for line in self._pipe:
            yield parse_line(line)

    def close(self) -> None:
        self._pipe.close()

    def __enter__(self) -> Trace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RpmsgBoard:
    """A board mounted at `root` by an `rpmsg-emu mount` daemon with pid `pid`."""

    def __init__(self, root: Path, pid: int | None = None) -> None:
        self.root = Path(root)
        self.pid = pid
        self.debugfs = self.root / "sys/kernel/debug/rpmsg_emu"

    def __fspath__(self) -> str:
        return os.fspath(self.root)

    def __str__(self) -> str:
        return str(self.root)

    def __repr__(self) -> str:
        return f"<RpmsgBoard at {self.root}>"

    def __truediv__(self, other: str | os.PathLike[str]) -> Path:
        return self.root / other

    def __getattr__(self, name: str) -> Any:
        if name == "root":  # not yet set (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.root, name)  # Path methods act on the root: board.exists()

    @property
    def board(self) -> str | None:
        """The emulated board's name (am62x, or a board file's)."""
        return self.status()["daemon"]["board"]

    def status(self) -> dict[str, Any]:
        """What `rpmsg-emu status DIR --json` prints (docs/cli.md)."""
        from fusedev.cli.status_cmd import board_status

        return board_status(self.root)

    @property
    def cores(self) -> list[Core]:
        return [Core(self.root, c["remoteproc"], c["rproc_id"], c["ti_name"], c["device"])
                for c in self.status()["cores"]]

    def core(self, key: int | str) -> Core:
        """A core by TI rproc id (9), TI name (M4F_MCU0_0), device or remoteprocN name."""
        for core in self.cores:
            if key in (core.rproc_id, core.remoteproc, core.device) or (
                    isinstance(key, str) and key.upper() == core.ti_name):
                return core
        raise KeyError(f"no core {key!r} on this board; cores: "
                       + ", ".join(f"{c.rproc_id} ({c.ti_name}, {c.remoteproc})"
                                   for c in self.cores))

    def trace(self) -> Trace:
        """Start tracing now; use as `with board.trace() as trace: ... next(iter(trace))`."""
        return Trace(self.root)


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as file:
        file.write(text + "\n")
