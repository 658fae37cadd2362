"""One pass of the benchmark: every target served at once, measured round-robin.

Targets take turns in several short rounds (with the order rotated each round) so that the
machine's noise falls on all of them alike, and ratios taken within one pass stay meaningful.
"""
from __future__ import annotations

import statistics
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import echo_client
from quantiles import latency_summary, quantile, ratio
from serving import Served, serve
from targets import BASELINE, Target


@dataclass(frozen=True)
class Plan:
    """How much to measure: latency rounds and sizes, then throughput rounds."""

    sizes: list[int]
    rounds: int
    iterations: int
    warmup: int
    stream_size: int
    stream_batch: int
    stream_seconds: float
    stream_rounds: int


def _rotations(targets: list[Target], rounds: int) -> list[list[Target]]:
    return [targets[r % len(targets):] + targets[:r % len(targets)] for r in range(rounds)]


def _latency(served: dict[str, Served], targets: list[Target], exe: Path, plan: Plan,
             cpu: int | None) -> dict[str, dict[str, Any]]:
    samples: dict[tuple[str, int], list[int]] = {}
    medians: dict[tuple[str, int], list[int]] = {}
    for order in _rotations(targets, plan.rounds):
        for target in order:
            for size in plan.sizes:
                got = echo_client.round_trips(exe, served[target.name].device, size,
                                         plan.iterations, plan.warmup, cpu)
                samples.setdefault((target.name, size), []).extend(got)
                medians.setdefault((target.name, size), []).append(quantile(sorted(got), 0.5))
    result: dict[str, dict[str, Any]] = {t.name: {} for t in targets}
    for (name, size), got in samples.items():
        result[name][str(size)] = latency_summary(got, medians[(name, size)])
    for name, by_size in result.items():
        for size, summary in by_size.items():
            base = result.get(BASELINE, {}).get(size, {})
            summary["ratio_median"] = ratio(summary["median_us"], base.get("median_us"))
            summary["ratio_p99"] = ratio(summary["p99_us"], base.get("p99_us"))
    return result


def _throughput(served: dict[str, Served], targets: list[Target], exe: Path, plan: Plan,
                cpu: int | None) -> dict[str, dict[str, Any]]:
    rates: dict[str, dict[str, list[float]]] = {t.name: {"write": [], "read": []} for t in targets}
    for order in _rotations(targets, plan.stream_rounds):
        for target in order:
            device = served[target.name].device
            run = echo_client.stream(exe, device, device, plan.stream_size, plan.stream_batch,
                                plan.stream_seconds, cpu)
            rates[target.name]["write"].append(run.msgs / (run.write_ns / 1e9))
            rates[target.name]["read"].append(run.msgs / (run.read_ns / 1e9))
    result: dict[str, dict[str, Any]] = {}
    for name, by_dir in rates.items():
        result[name] = {}
        for direction, per_round in by_dir.items():
            msgs_per_s = statistics.median(per_round)
            result[name][direction] = {
                "msgs_per_s": msgs_per_s,
                "MB_per_s": msgs_per_s * plan.stream_size / 1e6,
                "round_msgs_per_s": per_round,
            }
    for name, by_dir in result.items():
        for direction, summary in by_dir.items():
            base = result.get(BASELINE, {}).get(direction, {})
            summary["ratio"] = ratio(summary["msgs_per_s"], base.get("msgs_per_s"))
    return result


def measure_pass(targets: list[Target], exe: Path, plan: Plan, cpu: int | None,
                 workdir: Path) -> dict[str, Any]:
    """Serve every target (pinned to `cpu` if given), measure, and take them all down."""
    with ExitStack() as stack:
        served = {t.name: stack.enter_context(serve(t, workdir, cpu)) for t in targets}
        return {
            "cpu": cpu,
            "startup_ms": {name: None if s.startup_s is None else s.startup_s * 1000
                           for name, s in served.items()},
            "latency": _latency(served, targets, exe, plan, cpu),
            "throughput": _throughput(served, targets, exe, plan, cpu),
        }
