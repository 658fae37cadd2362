"""The benchmark's echo baselines behave like the device they stand in for.

A baseline that drifted from the echo semantics (one message per write and per read, blocking,
EAGAIN with O_NONBLOCK, poll wakeups, EINTR on a signal) would make every ratio meaningless.
Real mounts, real syscalls; nothing here is timed.
"""
from __future__ import annotations

import errno
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench"
sys.path.insert(0, str(BENCH))

from cbuild import compile_c  # noqa: E402
from serving import is_mounted, serve  # noqa: E402
from targets import Target, default_targets  # noqa: E402

WAIT_S = 10.0
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def c_daemon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_c("c_echo_ll.c", tmp_path_factory.mktemp("bench-build"), with_fuse=True)


def _target(c_daemon: Path, name: str) -> Target:
    target = next(t for t in default_targets(c_daemon) if t.name == name)
    reason = target.unavailable()
    if reason:
        pytest.skip(reason)
    return target


@pytest.fixture(params=["c_echo_ll", "c_echo_remote", "pyfuse3_echo"])
def echo(request: pytest.FixtureRequest, c_daemon: Path, tmp_path: Path) -> Iterator[str]:
    """The echo file of a freshly mounted baseline daemon."""
    with serve(_target(c_daemon, request.param), tmp_path, cpu=None) as served:
        yield served.device


def _later(delay: float, action: Callable[[], object]) -> threading.Timer:
    thread = threading.Timer(delay, action)
    thread.start()
    return thread


def test_one_message_per_write_and_per_read(echo: str) -> None:
    fd = os.open(echo, os.O_RDWR)
    try:
        assert os.write(fd, b"hello") == 5
        assert os.write(fd, b"0123456789") == 10
        assert os.read(fd, 4096) == b"hello"
        assert os.read(fd, 4) == b"0123"  # truncated; the rest of that message is gone
        os.write(fd, b"next")
        assert os.read(fd, 4096) == b"next"
    finally:
        os.close(fd)


def test_blocked_read_is_answered_by_a_later_write(echo: str) -> None:
    # Two opens: threads sharing one fd of a regular file serialize read and write on the
    # file's f_pos lock (a FUSE file cannot be stream_open'ed through libfuse 3.14).
    reader = os.open(echo, os.O_RDONLY)
    writer = os.open(echo, os.O_WRONLY)
    try:
        thread = _later(0.1, lambda: os.write(writer, b"late"))
        assert os.read(reader, 4096) == b"late"
        thread.join()
    finally:
        os.close(reader)
        os.close(writer)


def test_nonblocking_read_of_empty_queue_is_eagain(echo: str) -> None:
    fd = os.open(echo, os.O_RDWR | os.O_NONBLOCK)
    try:
        with pytest.raises(BlockingIOError) as raised:
            os.read(fd, 4096)
        assert raised.value.errno == errno.EAGAIN
    finally:
        os.close(fd)


def test_poll_wakes_when_a_message_arrives(echo: str) -> None:
    reader = os.open(echo, os.O_RDONLY | os.O_NONBLOCK)
    writer = os.open(echo, os.O_WRONLY)
    try:
        poller = select.poll()
        poller.register(reader, select.POLLIN)
        assert poller.poll(0) == []
        thread = _later(0.1, lambda: os.write(writer, b"ping"))
        assert poller.poll(WAIT_S * 1000) == [(reader, select.POLLIN)]
        thread.join()
        assert os.read(reader, 4096) == b"ping"
    finally:
        os.close(reader)
        os.close(writer)


C_FLOORS = ["c_echo_ll", "c_echo_remote"]


@pytest.mark.parametrize("name", C_FLOORS)
def test_signal_interrupts_a_blocked_read_of_the_c_floor(c_daemon: Path, tmp_path: Path,
                                                         name: str) -> None:
    """Ctrl-C on a client must never hang (pyfuse3 has no interrupt handler, so C only)."""
    with serve(_target(c_daemon, name), tmp_path, cpu=None) as served:
        code = f"import os; os.read(os.open({served.device!r}, os.O_RDONLY), 16)"
        proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
        time.sleep(0.3)  # let it block in read()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=WAIT_S)
        assert b"KeyboardInterrupt" in err


@pytest.mark.parametrize("name", C_FLOORS)
def test_daemon_stops_and_unmounts(c_daemon: Path, tmp_path: Path, name: str) -> None:
    with serve(_target(c_daemon, name), tmp_path, cpu=None) as served:
        root = Path(served.device).parent
        assert is_mounted(root)
    assert not is_mounted(root)
    assert not root.exists()
