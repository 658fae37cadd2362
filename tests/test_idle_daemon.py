"""An idle `rpmsg-emu mount` sleeps: left alone after some traffic, none of its threads wakes up,
yet a fault plan written to debugfs still reaches the idle core at once.

Before, every core looked for a new fault plan every 0.1 s and Linux's loop looked at each
core's watchdog every 0.25 s: some 28 wake-ups a second for the default board, about 1 % of
a CPU (docs/benchmarks.md, "Idle"). A thread's wake-ups are counted by the kernel in
/proc/PID/task/TID/status (`voluntary_ctxt_switches`: it blocked again after waking), which
is what this test reads: a count, not a timing.
"""
from __future__ import annotations

import json
import os
import select
import time
from pathlib import Path
from typing import Iterator

import pytest

from daemon_process import DaemonProcess, default_board_daemon
from rpmsg_ioctl import create_ept

pytestmark = pytest.mark.timeout(120)

QUIET_S = 2.0
SETTLE_S = 0.5  # after the traffic: the FUSE loop's busy-poll window is long over by then
MAX_WAKEUPS = 5  # the periodic looks of old made ~56 in QUIET_S; an idle daemon makes 0


@pytest.fixture
def idle_board(tmp_path: Path) -> Iterator[tuple[Path, DaemonProcess]]:
    """`rpmsg-emu mount` of the default board (AM62x) in its own process, as for a user."""
    root = tmp_path / "board"
    daemon = default_board_daemon(root, "dev/rpmsg_ctrl1")
    try:
        yield root, daemon
    finally:
        daemon.cleanup()


def wakeups(pid: int) -> dict[str, int]:
    """Voluntary context switches so far, per thread of `pid` (tid: count)."""
    counts = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except FileNotFoundError:  # a thread that just ended
            continue
        for line in status.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                counts[task.name] = int(line.split()[1])
    return counts


def echo(fd: int, payload: bytes) -> bytes:
    os.write(fd, payload)
    readable, _, _ = select.select([fd], [], [], 10)
    assert readable, "no reply within 10 s"
    return os.read(fd, 512)


def test_an_idle_daemon_does_not_wake_and_still_takes_a_fault_plan_at_once(idle_board) -> None:
    root, daemon = idle_board
    fd = os.open(root / "dev" / create_ept(root, "idle", ctrl=0), os.O_RDWR)
    for n in range(50):
        assert echo(fd, b"%d" % n) == b"%d" % n
    time.sleep(SETTLE_S)

    before = wakeups(daemon.proc.pid)
    assert len(before) >= 3  # Linux's thread and one per running core
    time.sleep(QUIET_S)
    after = wakeups(daemon.proc.pid)
    woke = {tid: after[tid] - before.get(tid, 0) for tid in after}
    assert sum(woke.values()) <= MAX_WAKEUPS, f"threads woke while idle: {woke}"

    # The idle core's fault timer sleeps with no deadline at all; the plan wakes it.
    events = os.open(root / "sys/kernel/debug/rpmsg_emu/trace_pipe", os.O_RDONLY | os.O_NONBLOCK)
    (root / "sys/kernel/debug/rpmsg_emu/faults/remoteproc0").write_text("crash_after_ms=100")
    crashes: list[dict[str, object]] = []
    deadline = time.monotonic() + 10
    while not crashes:
        assert time.monotonic() < deadline, "the injected crash did not happen"
        select.select([events], [], [], 0.5)
        try:
            lines = os.read(events, 65536).splitlines()
        except BlockingIOError:
            continue
        crashes += [e for e in map(json.loads, lines)
                    if e["kind"] == "fault" and e.get("fault") == "crash"]
    assert crashes[0]["after_s"] == 0.1
    os.close(events)
    os.close(fd)
    assert "Traceback" not in daemon.log()
