"""What `rpmsg-emu run`'s syscall supervisor costs: with it and without, side by side.

Interleaved rounds (supervised, then `--no-syscall-emulation`) of:
- start-up: `rpmsg-emu run -- python3 -c pass`, wall time;
- the message path: `rpmsg_char_benchmark -r 9 -m 1` under `run` (its median round trip), which
  must not move, since read/write/poll/ioctl on eptdevs are never trapped;
- a trapped call: `stat("/dev/rpmsg0")` in a C loop, per call.
Usage: python scripts/bench/run_cost.py [--rounds N]
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN = [sys.executable, "-m", "fusedev.cli", "run"]
MODES = {"supervised": [], "unsupervised": ["--no-syscall-emulation"]}
STAT_LOOP = r"""
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
int main(void) {
	struct stat st; struct timespec a, b; const int n = 5000;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) if (stat("/dev/rpmsg0", &st)) return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.3f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0);
	return 0;
}
"""


def _run(mode: str, *cmd: str) -> tuple[float, str]:
    start = time.monotonic()
    result = subprocess.run([*RUN, *MODES[mode], "--", *cmd], capture_output=True, text=True,
                            timeout=300, check=True)
    return time.monotonic() - start, result.stdout


def measure_run_cost(workdir: Path, rounds: int = 5, messages: int = 2000) -> dict:
    """Medians per mode: start-up ms, benchmark p50 µs, stat µs; and supervised/unsupervised."""
    exe = workdir / "stat_loop"
    source = workdir / "stat_loop.c"
    source.write_text(STAT_LOOP)
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(source)], check=True)
    samples: dict[str, dict[str, list[float]]] = {
        mode: {"startup_ms": [], "benchmark_p50_us": [], "stat_us": []} for mode in MODES}
    for _ in range(rounds):
        for mode in MODES:
            seconds, _ = _run(mode, sys.executable, "-c", "pass")
            samples[mode]["startup_ms"].append(seconds * 1000)
            _, out = _run(mode, str(Path(sys.executable).parent / "rpmsg_char_benchmark"),
                          "-r", "9", "-m", "1", "-n", str(messages))
            samples[mode]["benchmark_p50_us"].append(
                float(re.search(r"p50 = ([\d.]+) us", out).group(1)))
            _, out = _run(mode, str(exe))
            samples[mode]["stat_us"].append(float(out))
    medians = {mode: {key: statistics.median(values) for key, values in per.items()}
               for mode, per in samples.items()}
    ratios = {key: medians["supervised"][key] / medians["unsupervised"][key]
              for key in medians["supervised"]}
    return {"rounds": rounds, "medians": medians, "ratio_supervised_to_unsupervised": ratios}


def table(result: dict) -> str:
    med, ratio = result["medians"], result["ratio_supervised_to_unsupervised"]
    lines = ["rpmsg-emu run: syscall supervisor cost (medians of "
             f"{result['rounds']} interleaved rounds)",
             f"{'':24}{'supervised':>12}{'unsupervised':>14}{'ratio':>8}"]
    for key, label in (("startup_ms", "start-up, python3 (ms)"),
                       ("benchmark_p50_us", "echo round trip p50 (µs)"),
                       ("stat_us", "stat(/dev/rpmsg0) (µs)")):
        lines.append(f"{label:24}{med['supervised'][key]:12.1f}{med['unsupervised'][key]:14.1f}"
                     f"{ratio[key]:8.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rpmsg-emu-runcost-") as tmp:
        result = measure_run_cost(Path(tmp), args.rounds)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
