"""An idle emulator: how long the mount takes to be usable, and what it costs while nobody uses it.

Issue 14's targets: mount until ready < 0.25 s, idle RSS <= 50 MiB, idle CPU < 1 % over 10 s.
The daemon first serves some round trips (so the receive loop has been busy-polling), then is
left alone; its CPU time (all threads: /proc/PID/stat utime + stime) over the idle window says
whether anything still spins or ticks.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import echo_client
from serving import serve
from targets import EMULATOR, emulator

SETTLE_S = 0.5  # after the traffic, before the idle window


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure_idle(exe: Path, cpu: int | None, workdir: Path, seconds: float) -> dict[str, Any]:
    """Start-up, then CPU % and RSS of the default board left idle for `seconds`."""
    target = emulator(EMULATOR, "idle")
    with serve(target, workdir, cpu) as served:
        assert served.pid is not None
        echo_client.round_trips(exe, served.device, 16, 2000, 200, cpu)
        time.sleep(SETTLE_S)
        before, start = _cpu_s(served.pid), time.monotonic()
        time.sleep(seconds)
        cpu_s, wall_s = _cpu_s(served.pid) - before, time.monotonic() - start
        return {"startup_ms": (served.startup_s or 0) * 1000, "idle_seconds": wall_s,
                "idle_cpu_percent": 100 * cpu_s / wall_s, "rss_kib": _rss_kib(served.pid)}


def idle_table(result: dict[str, Any]) -> str:
    """One line, against the targets."""
    return (f"idle emulator (AM62x): mount until ready {result['startup_ms']:.0f} ms "
            f"(target < 250), CPU {result['idle_cpu_percent']:.2f} % over "
            f"{result['idle_seconds']:.0f} s (target < 1), RSS {result['rss_kib'] / 1024:.1f} MiB "
            f"(target <= 50)")
