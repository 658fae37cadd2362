"""The benchmark harness runs end to end on a tiny plan and cleans up after itself.

Checks the shape of the results and that the C floor is its own reference (ratio 1); no number
is judged, since performance is measured by the benchmark, not asserted by tests.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench"
sys.path.insert(0, str(BENCH))

import run_bench  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def _bench_mounts() -> list[str]:
    with open("/proc/self/mounts") as mounts:
        return [line for line in mounts if "rpmsg-emu-bench-" in line]


def test_tiny_run_writes_results_and_leaves_no_mount(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    run_bench.main(["--out", str(out), "--targets", "c_echo_ll,pipe", "--sizes", "16,496",
                    "--rounds", "2", "--iterations", "20", "--warmup", "5",
                    "--stream-seconds", "0.05", "--stream-rounds", "1"])
    results = json.loads(out.read_text())
    assert set(results["passes"]) == {"unpinned", "pinned"}
    for result in results["passes"].values():
        floor = result["latency"]["c_echo_ll"]["16"]
        assert floor["n"] == 40 and floor["ratio_median"] == 1.0
        assert result["latency"]["pipe"]["496"]["median_us"] > 0
        assert result["throughput"]["c_echo_ll"]["write"]["ratio"] == 1.0
        assert result["startup_ms"]["pipe"] is None
    assert results["machine"]["nproc"] >= 1
    assert _bench_mounts() == []


def test_unknown_target_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="unknown targets: nope"):
        run_bench.main(["--out", str(tmp_path / "r.json"), "--targets", "nope"])


def test_emulator_target_and_extras_run_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    run_bench.main(["--out", str(out), "--targets", "c_echo_ll,rpmsg_emu_echo", "--sizes", "16",
                    "--rounds", "1", "--iterations", "20", "--warmup", "5",
                    "--stream-seconds", "0.05", "--stream-rounds", "1", "--passes", "pinned",
                    "--source-count", "50", "--lifecycle-seconds", "0.05",
                    "--scale-endpoints", "1,3", "--scale-iterations", "20"])
    result = json.loads(out.read_text())["passes"]["pinned"]
    assert result["latency"]["rpmsg_emu_echo"]["16"]["ratio_median"] > 0
    emu = result["emulator"]
    assert emu["startup_ms"] > 0 and emu["lifecycle"]["cycles"] >= 1
    assert emu["sink"]["ratio"] > 0 and emu["source"]["ratio"] > 0
    assert [row["endpoints"] for row in emu["scale"]] == [1, 3]
    assert emu["scale"][0]["rss_kib"] > 0
    assert emu["j784s4"]["cores"] == 12
    assert _bench_mounts() == []
