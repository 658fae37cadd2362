"""What only the emulator has: firmware streams, endpoint life cycles, scale, a 12-core SoC.

Each measurement serves its own board (so 1000 leftover endpoints never slow another), pinned
like everything else in the pass, and reports ratios to the C floor measured in the same pass.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import echo_client
from quantiles import latency_summary, quantile, ratio
from rpmsg_setup import EndpointMaker
from serving import pinned, serve
from targets import BASELINE, HERE, REPO, emulator, source_board


@dataclass(frozen=True)
class EmuPlan:
    """How much of each emulator-only measurement to do."""

    stream_size: int
    stream_batch: int
    stream_seconds: float
    stream_rounds: int
    source_count: int
    lifecycle_seconds: float
    scale_endpoints: list[int]
    scale_iterations: int
    scale_size: int


def _rss_kib(pid: int | None) -> int | None:
    """Resident set of the daemon (VmRSS), the memory a user would see in top."""
    if pid is None:
        return None
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def _rate(per_round: list[float], size: int, base: float | None) -> dict[str, Any]:
    msgs = statistics.median(per_round)
    return {"msgs_per_s": msgs, "MB_per_s": msgs * size / 1e6, "ratio": ratio(msgs, base),
            "round_msgs_per_s": per_round}


def _sink(exe: Path, plan: EmuPlan, cpu: int | None, workdir: Path) -> list[float]:
    target = emulator("rpmsg_emu_sink", "sink firmware on core 9", "--firmware", "9=sink")
    with serve(target, workdir, cpu) as served:
        return [echo_client.send_only(exe, served.device, plan.stream_size, plan.stream_batch,
                                      plan.stream_seconds, cpu)
                for _ in range(plan.stream_rounds)]


def _source(exe: Path, plan: EmuPlan, cpu: int | None, workdir: Path) -> list[float]:
    """A fresh board per round: the source firmware streams once, to whoever speaks first."""
    target = emulator("rpmsg_emu_source", "source firmware on core 9",
                      board_file=source_board(plan.stream_size, plan.source_count))
    rates = []
    for _ in range(plan.stream_rounds):
        with serve(target, workdir, cpu) as served:
            rates.append(echo_client.recv_only(exe, served.device, plan.stream_size,
                                               plan.source_count, cpu))
    return rates


def _lifecycle(plan: EmuPlan, cpu: int | None, workdir: Path) -> dict[str, Any]:
    target = emulator("rpmsg_emu_lifecycle", "rpmsg_char_open/close cycles")
    with serve(target, workdir, cpu) as served:
        root = Path(served.device).parent.parent
        argv = [sys.executable, str(HERE / "lifecycle_client.py"), str(root),
                str(plan.lifecycle_seconds)]
        out = subprocess.run(pinned(argv, cpu), capture_output=True, text=True, check=True,
                             cwd=REPO, timeout=60).stdout
    found = dict(part.split("=") for part in out.split())
    cycles, ns = int(found["cycles"]), int(found["ns"])
    return {"cycles": cycles, "cycles_per_s": cycles / (ns / 1e9), "us_per_cycle": ns / cycles / 1e3}


def _rtt(exe: Path, device: str, plan: EmuPlan, cpu: int | None) -> dict[str, Any]:
    samples: list[int] = []
    medians: list[int] = []
    for _ in range(3):
        got = echo_client.round_trips(exe, device, plan.scale_size, plan.scale_iterations, 200,
                                      cpu)
        samples += got
        medians.append(quantile(sorted(got), 0.5))
    return latency_summary(samples, medians)


def _scale(exe: Path, plan: EmuPlan, cpu: int | None, workdir: Path) -> list[dict[str, Any]]:
    """Round trip on one endpoint while a holder process keeps the others open.

    Each row measures a fresh endpoint made after the holder's: an eptdev keeps the address of
    its first open (TI kernel), which a holder's ANY endpoint could take while it is closed.
    """
    target = emulator("rpmsg_emu_scale", "echo with many endpoints open")
    rows = []
    with serve(target, workdir, cpu) as served:
        root = Path(served.device).parent.parent
        maker = EndpointMaker(root)
        holder = subprocess.Popen(pinned([sys.executable, str(HERE / "endpoint_holder.py"),
                                          str(root)], cpu),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  cwd=HERE)
        assert holder.stdin is not None and holder.stdout is not None
        try:
            held = 0
            for total in plan.scale_endpoints:
                holder.stdin.write(f"{total - 1 - held}\n")
                holder.stdin.flush()
                held = int(holder.stdout.readline().split()[1])
                device = maker.create(f"bench-{held + 1}")
                rows.append({"endpoints": held + 1, **_rtt(exe, device, plan, cpu),
                             "rss_kib": _rss_kib(served.pid)})
        finally:
            holder.stdin.close()
            holder.wait(30)
    return rows


J784S4_CORES = 12


def _ctrl_devices(root: Path, expected: int, timeout_s: float = 30.0) -> tuple[list[int], float]:
    """The rpmsg_ctrl numbers once `expected` exist (or the timeout), and the time waited."""
    start = time.perf_counter()
    while True:
        ctrls = sorted(int(n.removeprefix("rpmsg_ctrl")) for n in os.listdir(root / "dev")
                       if n.startswith("rpmsg_ctrl"))
        if len(ctrls) >= expected or time.perf_counter() - start > timeout_s:
            return ctrls, time.perf_counter() - start
        time.sleep(0.002)


def _j784s4(exe: Path, plan: EmuPlan, cpu: int | None, workdir: Path) -> dict[str, Any]:
    """All twelve remote cores of a J784S4 running echo: start-up, memory, a round trip on the
    first and on the last core."""
    target = emulator("rpmsg_emu_j784s4", "J784S4, twelve cores of echo", "--soc", "j784s4")
    with serve(target, workdir, cpu) as served:
        root = Path(served.device).parent.parent
        # Cores boot one after another in probe order: the board is up with the twelfth ctrl.
        ctrls, waited_s = _ctrl_devices(root, J784S4_CORES)
        last = EndpointMaker(root, ctrls[-1]).create("bench-last")
        return {"cores": len(ctrls), "startup_ms": ((served.startup_s or 0) + waited_s) * 1000,
                "rss_kib": _rss_kib(served.pid),
                "first_core": _rtt(exe, served.device, plan, cpu),
                "last_core": _rtt(exe, last, plan, cpu)}


def measure_emulator(exe: Path, plan: EmuPlan, cpu: int | None, workdir: Path,
                     floor: dict[str, Any], startup_ms: float | None) -> dict[str, Any]:
    """Everything emulator-only of one pass; `floor` is the pass's result for the baselines."""
    base_tp = floor["throughput"].get(BASELINE, {})
    base_rtt = floor["latency"].get(BASELINE, {}).get(str(plan.scale_size), {})
    scale = _scale(exe, plan, cpu, workdir)
    for row in scale:
        row["ratio_median"] = ratio(row["median_us"], base_rtt.get("median_us"))
        row["ratio_to_one"] = ratio(row["median_us"], scale[0]["median_us"])
    big = _j784s4(exe, plan, cpu, workdir)
    for core in ("first_core", "last_core"):
        big[core]["ratio_median"] = ratio(big[core]["median_us"], base_rtt.get("median_us"))
    return {
        "startup_ms": startup_ms,
        "sink": _rate(_sink(exe, plan, cpu, workdir), plan.stream_size,
                      base_tp.get("write", {}).get("msgs_per_s")),
        "source": _rate(_source(exe, plan, cpu, workdir), plan.stream_size,
                        base_tp.get("read", {}).get("msgs_per_s")),
        "lifecycle": _lifecycle(plan, cpu, workdir),
        "scale": scale,
        "j784s4": big,
    }
