"""Run a target's daemon on a fresh mount root, and always take it down again.

Whatever happens in the benchmark (an exception, Ctrl-C, SIGTERM turned into SystemExit), the
daemon is stopped and the mount is lazily unmounted, so no run leaves a dead FUSE mount behind.
"""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from targets import REPO, Target

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Served:
    """A target ready for the client: the path to open, how long the daemon took to serve, and
    the daemon's pid (for its memory use; None without a daemon)."""

    device: str
    startup_s: float | None
    pid: int | None = None


def pinned(argv: list[str], cpu: int | None) -> list[str]:
    """argv run on one CPU (inherited by its threads and children), or as it is."""
    return argv if cpu is None else ["taskset", "-c", str(cpu), *argv]


def is_mounted(path: Path) -> bool:
    with open("/proc/self/mounts") as mounts:
        return any(line.split()[1] == str(path) for line in mounts)


def _wait_ready(proc: subprocess.Popen[bytes], ready: Path, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited with {proc.returncode}: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{ready} did not appear in {READY_TIMEOUT_S} s")
        time.sleep(0.001)


def _stop(proc: subprocess.Popen[bytes] | None, root: Path) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if is_mounted(root):
        subprocess.run(["fusermount3", "-uz", str(root)], check=False)
    try:
        os.rmdir(root)
    except OSError:
        pass


@contextmanager
def serve(target: Target, workdir: Path, cpu: int | None) -> Iterator[Served]:
    """Start `target` (pinned to `cpu` if given) on a new root under `workdir`."""
    root = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=workdir))
    proc: subprocess.Popen[bytes] | None = None
    startup_s = None
    try:
        if target.daemon is not None:
            log = workdir / f"{root.name}.log"
            with open(log, "wb") as out:
                start = time.perf_counter()
                proc = subprocess.Popen(pinned(target.daemon(root), cpu), stdout=out,
                                        stderr=subprocess.STDOUT, cwd=REPO,
                                        start_new_session=True)
            _wait_ready(proc, root / target.ready, log)
            startup_s = time.perf_counter() - start
        yield Served(target.device_path(root), startup_s, proc.pid if proc else None)
    finally:
        _stop(proc, root)
