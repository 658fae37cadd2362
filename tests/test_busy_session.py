"""A client that keeps the daemon busy does not starve the daemon's other work.

A C client pinned to the daemon's CPU streams writes to a sink: after each reply it runs at
once and its next request is queued before the daemon reads /dev/fuse again, so the daemon
never sees EAGAIN. The daemon runs under SCHED_IDLE, which makes the client preempt it at every
reply on any kernel: the back-to-back case, made deterministic instead of left to the
scheduler's mood. Meanwhile what only trio's scheduler runs must still happen: the stop signal,
and another core's firmware task.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest

from daemon_process import DaemonProcess, make_mount_dir
from fusedev.fuse import mountpoint
from fusedev.cli.foreground import READY
from rpmsg_ioctl import create_ept

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench"
sys.path.insert(0, str(BENCH))

from cbuild import compile_c  # noqa: E402

WAIT_S = 5.0  # bounded waits: with the receive loop starving trio, nothing would ever happen
pytestmark = pytest.mark.timeout(90)


class Streaming(NamedTuple):
    root: Path
    daemon: DaemonProcess
    client: subprocess.Popen[str]


def endpoint_to(root: Path, channel: str, name: str) -> Path:
    """CREATE_EPT to the channel `channel` (a glob) on its own core; the new /dev/rpmsgN."""
    devices = root / "sys/bus/rpmsg/devices"
    found = next(devices.glob(f"virtio*.{channel}.*"))
    virtio = found.name.split(".")[0]
    ctrl = os.listdir(devices / f"{virtio}.rpmsg_ctrl.0.0" / "rpmsg")[0]
    dst = int((found / "dst").read_text(), 16)
    return root / "dev" / create_ept(root, name, dst, ctrl=int(ctrl.removeprefix("rpmsg_ctrl")))


@pytest.fixture(scope="module")
def echo_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_c("echo_client.c", tmp_path_factory.mktemp("busy-build"), with_fuse=False)


@pytest.fixture
def streaming(tmp_path: Path, echo_client: Path) -> Iterator[Streaming]:
    """Core 9 a sink fed back to back from the daemon's CPU, core 15 the sample firmware."""
    cpu = str(max(os.sched_getaffinity(0)))  # the last CPU, for the daemon and the client
    root = tmp_path / "board"
    make_mount_dir(root)
    daemon = DaemonProcess(
        ["chrt", "--idle", "0", "taskset", "--cpu-list", cpu, sys.executable, "-m",
         "fusedev.cli", "mount", str(root), "--firmware", "9=sink", "--firmware", "15=sample"],
        root, "dev/rpmsg_ctrl0")
    client = None
    try:
        deadline = time.monotonic() + 20
        while READY not in daemon.log():  # boot settled, stop signals handled from now on
            assert time.monotonic() < deadline, daemon.log()
            time.sleep(0.05)
        sink = endpoint_to(root, "rpmsg_chrdev", "busy")
        client = subprocess.Popen(
            ["taskset", "--cpu-list", cpu, str(echo_client), "send", str(sink), "64", "1", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        assert client.poll() is None, client.communicate()
        yield Streaming(root, daemon, client)
    finally:
        if client is not None:
            client.kill()  # first: a starved daemon handles SIGTERM once the stream stops
            client.wait()
        daemon.cleanup()


def test_sigterm_stops_the_daemon_while_a_client_streams_on_its_cpu(streaming: Streaming) -> None:
    streaming.daemon.proc.send_signal(signal.SIGTERM)
    try:
        returncode = streaming.daemon.proc.wait(WAIT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the daemon still serves {WAIT_S} s after SIGTERM: its signal task starves")
    assert returncode == 0, streaming.daemon.log()
    assert str(streaming.root) not in mountpoint.fuse_mounts()
    # The client was still writing when the mount went away under it.
    _, err = streaming.client.communicate(timeout=WAIT_S)
    assert streaming.client.returncode == 1 and err.startswith("write: "), err


def test_another_cores_firmware_answers_while_a_client_streams_on_the_daemons_cpu(
        streaming: Streaming) -> None:
    fd = os.open(endpoint_to(streaming.root, "sample.upper", "upper"), os.O_RDWR)
    try:
        os.write(fd, b"hello")  # the sample firmware reads it with recv() in its own trio task
        readable, _, _ = select.select([fd], [], [], WAIT_S)
        assert readable, f"no answer from the sample firmware within {WAIT_S} s: it starves"
        assert os.read(fd, 512) == b"HELLO"
    finally:
        os.close(fd)
    assert streaming.client.poll() is None  # the answer came while the stream went on
