"""What a run reports: the machine it ran on, a plain-text table, and a JSON file."""
from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """Enough to tell whether two result files are comparable."""
    libfuse = subprocess.run(["pkg-config", "--modversion", "fuse3"], capture_output=True,
                             text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "libfuse3": libfuse,
    }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def pass_table(name: str, result: dict[str, Any]) -> str:
    """Latency and throughput of one pass, ratios to the C floor."""
    cpu = "any CPU" if result["cpu"] is None else f"client and daemon on CPU {result['cpu']}"
    lines = [f"== {name}: {cpu} ==", "", "start-up to ready (ms): " + ", ".join(
        f"{t} {_fmt(ms, '.0f')}" for t, ms in result["startup_ms"].items() if ms is not None), "",
        f"{'round trip':<18}{'bytes':>6}{'median µs':>11}{'p99 µs':>9}{'med ×C':>8}"
        f"{'p99 ×C':>8}  {'round medians µs':>16}"]
    for target, by_size in result["latency"].items():
        for size, s in by_size.items():
            spread = f"{min(s['round_medians_us']):.0f}–{max(s['round_medians_us']):.0f}"
            lines.append(f"{target:<18}{size:>6}{s['median_us']:>11.1f}{s['p99_us']:>9.1f}"
                         f"{_fmt(s['ratio_median'], '.2f'):>8}{_fmt(s['ratio_p99'], '.2f'):>8}"
                         f"  {spread:>16}")
    lines += ["", f"{'stream':<18}{'write msg/s':>12}{'MB/s':>8}{'×C':>8}"
                  f"{'read msg/s':>12}{'MB/s':>8}{'×C':>8}"]
    for target, t in result["throughput"].items():
        w, r = t["write"], t["read"]
        lines.append(f"{target:<18}{w['msgs_per_s']:>12.0f}{w['MB_per_s']:>8.1f}"
                     f"{_fmt(w['ratio'], '.2f'):>8}{r['msgs_per_s']:>12.0f}{r['MB_per_s']:>8.1f}"
                     f"{_fmt(r['ratio'], '.2f'):>8}")
    return "\n".join(lines)


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
