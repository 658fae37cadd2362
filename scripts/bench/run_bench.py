"""Benchmark rpmsg-emu's FUSE engine against its baselines, side by side in one run.

Builds the C floor and client, serves every available target, measures round-trip latency
(16/64/496-byte messages) and pipelined stream throughput (496-byte messages), once unpinned and
once with client and daemon pinned to one CPU, then prints a table and writes JSON. Results are
meant to be read as ratios to the C libfuse3 floor measured in the same run.

Usage: python scripts/bench/run_bench.py [--out bench-results/results.json] [--targets a,b] ...
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cbuild import build_all
from emu_measure import EmuPlan, measure_emulator
from emu_report import emu_table
from idle_measure import idle_table, measure_idle
from measure import Plan, measure_pass
from report import machine_info, pass_table, write_json
from run_cost import measure_run_cost
from run_cost import table as run_cost_table
from targets import EMULATOR, Target, default_targets


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench-results/results.json"))
    parser.add_argument("--targets", help="comma-separated target names (default: all)")
    parser.add_argument("--sizes", type=_ints, default=[16, 64, 496])
    parser.add_argument("--rounds", type=int, default=10, help="latency rounds per pass")
    parser.add_argument("--iterations", type=int, default=2500, help="round trips per round")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--stream-size", type=int, default=496)
    parser.add_argument("--stream-batch", type=int, default=64,
                        help="messages written before they are read back (≤ 1024)")
    parser.add_argument("--stream-seconds", type=float, default=1.0)
    parser.add_argument("--stream-rounds", type=int, default=4)
    parser.add_argument("--passes", default="unpinned,pinned")
    parser.add_argument("--no-emulator-extras", action="store_true",
                        help="skip sink/source streams, life cycles, scale and J784S4")
    parser.add_argument("--source-count", type=int, default=20000,
                        help="messages the source firmware streams per round")
    parser.add_argument("--lifecycle-seconds", type=float, default=2.0)
    parser.add_argument("--scale-endpoints", type=_ints, default=[1, 100, 1000])
    parser.add_argument("--scale-iterations", type=int, default=1500,
                        help="round trips per scale round (3 rounds, 16 bytes)")
    parser.add_argument("--idle-seconds", type=float, default=10.0,
                        help="how long the emulator is left idle to measure its CPU use "
                             "(0: skip; also reports mount until ready and RSS)")
    parser.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)),
                        help="the CPU of the pinned pass")
    return parser.parse_args(argv)


def choose_targets(all_targets: list[Target],
                   names: str | None) -> tuple[list[Target], dict[str, str]]:
    """The targets to run, and the reason each left-out default target was skipped."""
    wanted = names.split(",") if names else [t.name for t in all_targets]
    unknown = set(wanted) - {t.name for t in all_targets}
    if unknown:
        sys.exit(f"unknown targets: {', '.join(sorted(unknown))}")
    chosen, skipped = [], {}
    for target in all_targets:
        if target.name not in wanted:
            continue
        reason = target.unavailable()
        if reason:
            skipped[target.name] = reason
            print(f"skipping {target.name}: {reason}", file=sys.stderr)
        else:
            chosen.append(target)
    return chosen, skipped


def run(args: argparse.Namespace) -> dict[str, Any]:
    plan = Plan(args.sizes, args.rounds, args.iterations, args.warmup, args.stream_size,
                args.stream_batch, args.stream_seconds, args.stream_rounds)
    emu_plan = EmuPlan(args.stream_size, args.stream_batch, args.stream_seconds,
                       args.stream_rounds, args.source_count, args.lifecycle_seconds,
                       args.scale_endpoints, args.scale_iterations, min(args.sizes))
    with tempfile.TemporaryDirectory(prefix="rpmsg-emu-bench-") as tmp:
        workdir = Path(tmp)
        c_daemon, exe = build_all(workdir / "build")
        targets, skipped = choose_targets(default_targets(c_daemon), args.targets)
        results: dict[str, Any] = {"machine": machine_info(), "plan": asdict(plan),
                                   "targets": {t.name: t.about for t in targets},
                                   "skipped": skipped, "passes": {}}
        if not args.no_emulator_extras:
            results["emulator_plan"] = asdict(emu_plan)
        for pass_name in args.passes.split(","):
            cpu = args.cpu if pass_name == "pinned" else None
            result = results["passes"][pass_name] = measure_pass(targets, exe, plan, cpu, workdir)
            print(pass_table(pass_name, result) + "\n", flush=True)
            if not args.no_emulator_extras and EMULATOR in result["latency"]:
                result["emulator"] = measure_emulator(exe, emu_plan, cpu, workdir, result,
                                                      result["startup_ms"][EMULATOR])
                print(emu_table(result["emulator"]) + "\n", flush=True)
        if args.idle_seconds > 0:
            results["idle"] = measure_idle(exe, None, workdir, args.idle_seconds)
            print(idle_table(results["idle"]) + "\n", flush=True)
        if not args.no_emulator_extras:
            try:
                results["run_supervisor"] = measure_run_cost(workdir)
                print(run_cost_table(results["run_supervisor"]) + "\n", flush=True)
            except subprocess.CalledProcessError as exc:  # e.g. no user namespaces here
                skipped["run_supervisor"] = f"rpmsg-emu run failed: {exc}"
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    results = run(args)
    write_json(args.out, results)
    print(f"results written to {args.out}")


if __name__ == "__main__":
    # SIGTERM must unwind through the finally blocks that stop daemons and unmount.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    main()
