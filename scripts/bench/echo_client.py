"""Run the compiled echo client and parse what it reports."""
from __future__ import annotations

import array
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from serving import pinned

CLIENT_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class StreamRun:
    """One pipelined run: messages sent and received, and the time spent writing and reading."""

    msgs: int
    write_ns: int
    read_ns: int


def _run(argv: list[str], cpu: int | None) -> bytes:
    done = subprocess.run(pinned(argv, cpu), capture_output=True, timeout=CLIENT_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def round_trips(client: Path, device: str, size: int, count: int, warmup: int,
                cpu: int | None) -> list[int]:
    """Round-trip times in ns of `count` write-then-read exchanges after `warmup` untimed ones."""
    out = _run([str(client), "rtt", device, str(size), str(count), str(warmup)], cpu)
    samples = array.array("Q")
    samples.frombytes(out)
    return samples.tolist()


def stream(client: Path, write_path: str, read_path: str, size: int, batch: int,
           seconds: float, cpu: int | None) -> StreamRun:
    """Pipelined batches of writes then reads for about `seconds`."""
    argv = [str(client), "stream", write_path, read_path, str(size), str(batch), str(seconds)]
    out = _run(argv, cpu).decode()
    found = dict(re.findall(r"(\w+)=(\d+)", out))
    return StreamRun(int(found["msgs"]), int(found["write_ns"]), int(found["read_ns"]))


def send_only(client: Path, path: str, size: int, batch: int, seconds: float,
              cpu: int | None) -> float:
    """Messages per second written to a sink for about `seconds`."""
    out = _run([str(client), "send", path, str(size), str(batch), str(seconds)], cpu).decode()
    found = dict(re.findall(r"(\w+)=(\d+)", out))
    return int(found["msgs"]) / (int(found["write_ns"]) / 1e9)


def recv_only(client: Path, path: str, size: int, count: int, cpu: int | None) -> float:
    """Messages per second read from a source that streams `count` messages after a hello."""
    out = _run([str(client), "recv", path, str(size), str(count)], cpu).decode()
    found = dict(re.findall(r"(\w+)=(\d+)", out))
    return int(found["msgs"]) / (int(found["read_ns"]) / 1e9)
