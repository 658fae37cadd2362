"""The receive loop in C, and its busy-polling, keep every blocking behaviour of the device.

The FUSE engine reads /dev/fuse and dispatches in C (fusedev/fuse/fuse_build.py
`rpe_loop_serve`) and, while requests keep coming, polls /dev/fuse for a while before
sleeping. A C client first talks to an endpoint back to back, so the daemon is polling when
the client then blocks, is interrupted, polls, or reads without blocking; each must end as on
the board (drivers/rpmsg/rpmsg_char.c). And a daemon left idle must really sleep.
"""
from __future__ import annotations

import errno
import os
import subprocess
import time
from pathlib import Path

import pytest

from c_clients import compile_client
from daemon_process import DaemonProcess, toy_echo
from rpmsg_ioctl import create_ept

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def client_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_client("busy_client", tmp_path_factory.mktemp("c"))


def run_client(exe: Path, emu, case: str) -> list[str]:
    node = create_ept(emu.root, f"busy-{case}", dst=14)
    done = subprocess.run([str(exe), str(emu.root / "dev" / node), case], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def test_a_signal_on_a_read_blocked_right_after_traffic_gives_eintr(client_exe, emu) -> None:
    assert run_client(client_exe, emu, "eintr") == [
        f"read -1 errno {errno.EINTR}", "handled 1", "echo ok", "done"]


def test_destroy_while_a_read_waits_right_after_traffic_gives_epipe(client_exe, emu) -> None:
    lines = run_client(client_exe, emu, "epipe")
    # The two threads print in either order: the destroy's reply and the read's both come
    # once the endpoint is gone.
    assert sorted(lines[:2]) == ["destroy 0", f"read -1 errno {errno.EPIPE}"]
    assert lines[2:] == ["done"]


def test_poll_wakes_when_the_echo_arrives_right_after_traffic(client_exe, emu) -> None:
    assert run_client(client_exe, emu, "poll") == ["poll 1 revents 0x1", "read 7 polled", "done"]


def test_nonblocking_reads_right_after_traffic(client_exe, emu) -> None:
    assert run_client(client_exe, emu, "nonblock") == [
        f"empty -1 errno {errno.EAGAIN}", "read 6 later", "done"]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_an_idle_daemon_sleeps_after_traffic(tmp_path: Path) -> None:
    """Busy-polling stops when the requests do: an idle daemon uses (almost) no CPU.

    Bound generous for a loaded machine: a daemon that kept polling would use a whole CPU.
    """
    daemon: DaemonProcess = toy_echo(tmp_path / "mnt")
    try:
        fd = os.open(daemon.mount_dir / "echo", os.O_RDWR)
        for i in range(2000):
            os.write(fd, b"%d" % i)
            assert os.read(fd, 64) == b"%d" % i
        time.sleep(0.2)
        before = _cpu_seconds(daemon.proc.pid)
        time.sleep(2.0)
        assert _cpu_seconds(daemon.proc.pid) - before < 0.2
        os.close(fd)
    finally:
        daemon.cleanup()
