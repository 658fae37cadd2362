"""An idle emulator: how long the mount takes to be usable, and what it costs while nobody uses it.

Issue 14's targets: mount until ready < 0.25 s, idle RSS <= 50 MiB, idle CPU < 1 % over 10 s.
The daemon first serves some round trips (so the receive loop has been busy-polling), then is
left alone; its CPU time (all threads: /proc/PID/stat utime + stime) over the idle window says
whether anything still spins or ticks.

Mount until ready is measured twice: as a user's install starts (its modules' bytecode cached,
as pip compiles it at install and an editable install's first run writes it; here in a cache
under the work directory, written by one unmeasured start), and with no bytecode cache at all
(PYTHONDONTWRITEBYTECODE, which some CI and sandbox environments set): every module of the
tree compiled at every start.
"""
from __future__ import annotations

import dataclasses
import os
import statistics
import time
from pathlib import Path
from typing import Any

import echo_client
from serving import serve
from targets import EMULATOR, Target, emulator

SETTLE_S = 0.5  # after the traffic, before the idle window
STARTS = 3  # mounts with the bytecode cached; their median is the start-up reported


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _bytecode(target: Target, cache: Path | None) -> Target:
    """`target` with its daemon's bytecode cached in `cache`, or never cached (None)."""
    assert target.daemon is not None
    daemon = target.daemon
    env = (["-u", "PYTHONDONTWRITEBYTECODE", f"PYTHONPYCACHEPREFIX={cache}"] if cache
           else ["PYTHONDONTWRITEBYTECODE=1"])
    return dataclasses.replace(target, daemon=lambda root: ["env", *env, *daemon(root)])


def measure_idle(exe: Path, cpu: int | None, workdir: Path, seconds: float) -> dict[str, Any]:
    """Start-up (without a bytecode cache once, then the median of STARTS with one), then
    CPU % and RSS of the default board left idle for `seconds`."""
    target = emulator(EMULATOR, "idle")
    with serve(_bytecode(target, None), workdir, cpu) as served:
        uncached_ms = (served.startup_s or 0) * 1000
    cached = _bytecode(target, workdir / "pycache")
    with serve(cached, workdir, cpu):
        pass  # writes the bytecode cache
    starts_ms = []
    for _ in range(STARTS - 1):
        with serve(cached, workdir, cpu) as served:
            starts_ms.append((served.startup_s or 0) * 1000)
    with serve(cached, workdir, cpu) as served:
        assert served.pid is not None
        starts_ms.append((served.startup_s or 0) * 1000)
        echo_client.round_trips(exe, served.device, 16, 2000, 200, cpu)
        time.sleep(SETTLE_S)
        before, start = _cpu_s(served.pid), time.monotonic()
        time.sleep(seconds)
        cpu_s, wall_s = _cpu_s(served.pid) - before, time.monotonic() - start
        return {"startup_ms": statistics.median(starts_ms), "startup_runs_ms": starts_ms,
                "startup_uncached_ms": uncached_ms,
                "idle_seconds": wall_s, "idle_cpu_percent": 100 * cpu_s / wall_s,
                "rss_kib": _rss_kib(served.pid)}


def idle_table(result: dict[str, Any]) -> str:
    """One line, against the targets."""
    return (f"idle emulator (AM62x): mount until ready {result['startup_ms']:.0f} ms "
            f"(target < 250; {result['startup_uncached_ms']:.0f} ms without a bytecode cache), "
            f"CPU {result['idle_cpu_percent']:.2f} % over "
            f"{result['idle_seconds']:.0f} s (target < 1), RSS {result['rss_kib'] / 1024:.1f} MiB "
            f"(target <= 50)")
