"""A core that keeps crashing while recovery is enabled is recovered with back-off, at most
RECOVERY_LIMIT times within RECOVERY_WINDOW, and then stays `crashed` (issue 12; the kernel
itself retries without limit, see docs/conformance.md). One log line per crash, no traceback.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from fusedev.kernel.remoteproc_recovery import BACKOFF_FIRST, RECOVERY_LIMIT
from sysfs_io import write

M4F = "sys/class/remoteproc/remoteproc0"
M4F_DEBUG = "sys/kernel/debug/remoteproc/remoteproc0"


def state(root: Path) -> str:
    return (root / M4F / "state").read_text().rstrip("\n")


def wait_running(root: Path, timeout: float = 20.0) -> float:
    """Seconds until the core reads `running` again."""
    started = time.monotonic()
    while state(root) != "running":
        assert time.monotonic() - started < timeout, f"still {state(root)}"
        time.sleep(0.01)
    return time.monotonic() - started


def test_a_crash_loop_backs_off_and_ends_crashed_after_the_limit(emu, caplog) -> None:
    write(emu.root / M4F / "recovery", "enabled")
    waits = []
    with caplog.at_level(logging.INFO):
        for _ in range(RECOVERY_LIMIT):
            write(emu.root / M4F_DEBUG / "crash", "1")
            waits.append(wait_running(emu.root))
        write(emu.root / M4F_DEBUG / "crash", "1")  # one more than the limit
        time.sleep(4 * BACKOFF_FIRST * 2 ** (RECOVERY_LIMIT - 2))
        assert state(emu.root) == "crashed"
    # Back-off: the last recovery waited at least its delay (a lower bound only).
    assert waits[-1] >= BACKOFF_FIRST * 2 ** (RECOVERY_LIMIT - 2)
    ours = [r for r in caplog.records if r.name.startswith("fusedev.kernel.remoteproc")
            and r.levelno >= logging.WARNING]
    crashes = [r.getMessage() for r in ours if "crash #" in r.getMessage()]
    assert len(crashes) == RECOVERY_LIMIT + 1
    assert all("type watchdog" in line for line in crashes)
    assert "staying crashed" in crashes[-1]
    assert len(ours) < 20
    assert not [r for r in caplog.records if r.exc_info]

    write(emu.root / M4F / "recovery", "recover")  # the user may always recover it
    wait_running(emu.root)


def test_with_recovery_disabled_a_crash_is_one_line_and_the_core_stays_crashed(emu,
                                                                            caplog) -> None:
    with caplog.at_level(logging.INFO):
        write(emu.root / M4F_DEBUG / "crash", "2")
        write(emu.root / M4F_DEBUG / "crash", "2")  # handled only once: already crashed
    lines = [r.getMessage() for r in caplog.records if "crash #" in r.getMessage()]
    assert lines == ["remoteproc0: crash #1 detected in 5000000.m4fss: type fatal error; "
                     "recovery disabled, staying crashed"]
    assert state(emu.root) == "crashed"
