"""The FUSE engine, used the way a program uses a device: real mount, real syscalls.

The toy echo filesystem (tests/toy_echo_fs.py) runs in its own process; these tests are its
clients.
"""
from __future__ import annotations

import errno
import fcntl
import multiprocessing
import os
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from blocked_read import BlockedRead
from daemon_process import DaemonProcess, alive, toy_echo
from toy_echo_fs import ECHO_IOC_COUNT, ECHO_IOC_DRAIN, ECHO_IOC_XOR

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="needs /dev/fuse")


@pytest.fixture
def toy(tmp_path: Path):
    daemon = toy_echo(tmp_path / "mnt")
    yield daemon
    daemon.cleanup()


@pytest.fixture
def echo(toy: DaemonProcess):
    fd = os.open(toy.mount_dir / "echo", os.O_RDWR)
    yield fd
    os.close(fd)


def test_write_then_read_returns_one_message_each(echo: int) -> None:
    os.write(echo, b"first")
    os.write(echo, b"second")
    assert os.read(echo, 496) == b"first"
    assert os.read(echo, 3) == b"sec"  # truncated to the buffer, rest of message dropped
    os.write(echo, b"third")
    assert os.read(echo, 496) == b"third"


def test_ioctl_carries_data_in_and_out(echo: int) -> None:
    os.write(echo, b"a")
    os.write(echo, b"b")
    count = fcntl.ioctl(echo, ECHO_IOC_COUNT, b"\0" * 4)
    assert struct.unpack("=i", count) == (2,)
    assert fcntl.ioctl(echo, ECHO_IOC_XOR, bytes(range(8))) == bytes(0xFF - i for i in range(8))
    assert fcntl.ioctl(echo, ECHO_IOC_DRAIN) == 2  # the result value comes back too


def test_unknown_ioctl_gets_the_errno_the_device_chooses(echo: int) -> None:
    with pytest.raises(OSError) as err:
        fcntl.ioctl(echo, 0xB5FF)
    assert err.value.errno == errno.EINVAL


def test_ioctl_on_a_directory_is_not_a_tty(toy: DaemonProcess) -> None:
    fd = os.open(toy.mount_dir, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as err:
            fcntl.ioctl(fd, ECHO_IOC_DRAIN)
        assert err.value.errno == errno.ENOTTY
    finally:
        os.close(fd)


def test_nonblocking_read_of_an_empty_device_is_eagain(toy: DaemonProcess) -> None:
    fd = os.open(toy.mount_dir / "echo", os.O_RDWR | os.O_NONBLOCK)
    try:
        with pytest.raises(BlockingIOError):
            os.read(fd, 64)
        os.write(fd, b"now there is one")
        assert os.read(fd, 64) == b"now there is one"
        os.set_blocking(fd, True)  # fcntl(F_SETFL) takes effect on the next call
        os.write(fd, b"blocking again")
        assert os.read(fd, 64) == b"blocking again"
    finally:
        os.close(fd)


def _write_later(path: Path, data: bytes, delay: float) -> subprocess.Popen:
    code = f"import os,time; time.sleep({delay}); fd=os.open({str(path)!r}, os.O_WRONLY); " \
           f"os.write(fd, {data!r})"
    return subprocess.Popen([sys.executable, "-c", code])


def test_blocking_read_is_answered_when_another_process_writes(toy: DaemonProcess, echo: int
                                                                ) -> None:
    writer = _write_later(toy.mount_dir / "echo", b"from another process", 0.3)
    started = time.monotonic()
    assert os.read(echo, 496) == b"from another process"
    assert time.monotonic() - started >= 0.25  # it really waited for the writer
    assert writer.wait(10) == 0


@pytest.mark.parametrize("waiter", ["select", "poll", "epoll"])
def test_waiting_wakes_when_a_message_arrives_and_not_before(toy: DaemonProcess, echo: int,
                                                            waiter: str) -> None:
    def wait(timeout: float) -> bool:
        if waiter == "select":
            return bool(select.select([echo], [], [], timeout)[0])
        if waiter == "poll":
            p = select.poll()
            p.register(echo, select.POLLIN)
            return bool(p.poll(timeout * 1000))
        ep = select.epoll()
        try:
            ep.register(echo, select.EPOLLIN)
            return bool(ep.poll(timeout))
        finally:
            ep.close()

    assert not wait(0.2)
    writer = _write_later(toy.mount_dir / "echo", b"wake up", 0.3)
    started = time.monotonic()
    assert wait(10)
    assert time.monotonic() - started >= 0.25
    assert os.read(echo, 64) == b"wake up"
    assert writer.wait(10) == 0
    assert not wait(0.1)


class Alarm(Exception):
    pass


def test_signal_during_a_blocked_read_gives_eintr_and_the_daemon_stays_healthy(
        echo: int) -> None:
    def on_alarm(signum, frame):
        raise Alarm

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        started = time.monotonic()
        # Python only runs the handler (and so raises) when the syscall failed with EINTR.
        with pytest.raises(Alarm):
            os.read(echo, 496)
        assert time.monotonic() - started < 5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    os.write(echo, b"still alive")
    assert os.read(echo, 496) == b"still alive"  # the interrupted read took nothing


def _client(path: str, index: int, rounds: int, results) -> None:
    fd = os.open(path, os.O_RDWR)
    got = []
    for n in range(rounds):
        os.write(fd, f"{index}:{n}".encode())
        got.append(os.read(fd, 64).decode())
    os.close(fd)
    results.put((index, got))


def test_many_concurrent_clients_each_get_whole_messages(toy: DaemonProcess) -> None:
    clients, rounds = 16, 50
    results: multiprocessing.Queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_client,
                                     args=(str(toy.mount_dir / "echo"), i, rounds, results))
             for i in range(clients)]
    for p in procs:
        p.start()
    received = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(10)
        assert p.exitcode == 0
    # The device is shared, so messages may cross between clients, but none is lost,
    # duplicated or split.
    everything = sorted(m for _, got in received for m in got)
    assert everything == sorted(f"{i}:{n}" for i in range(clients) for n in range(rounds))


def test_readdir_reports_real_file_types(toy: DaemonProcess) -> None:
    kinds = {e.name: e for e in os.scandir(toy.mount_dir)}
    assert kinds["devices"].is_dir(follow_symlinks=False)
    assert kinds["echo"].is_file(follow_symlinks=False)
    link = next(os.scandir(toy.mount_dir / "bus/platform/devices"))
    assert link.is_symlink()
    assert not link.is_dir(follow_symlinks=False)  # DT_LNK, not DT_DIR


def test_relative_symlinks_resolve_like_the_kernel_makes_them(toy: DaemonProcess) -> None:
    link = toy.mount_dir / "bus/platform/devices/5000000.m4fss"
    assert os.readlink(link) == "../../../devices/platform/bus@f0000/5000000.m4fss"
    assert os.path.realpath(link) == str(toy.mount_dir /
                                         "devices/platform/bus@f0000/5000000.m4fss")
    assert (link / "name").read_text() == "5000000.m4fss\n"


def test_attribute_write_reaches_its_callback(toy: DaemonProcess) -> None:
    state = toy.mount_dir / "devices/platform/bus@f0000/5000000.m4fss/state"
    assert state.read_text() == "offline\n"
    subprocess.run(f"echo start > {state}", shell=True, check=True)  # O_TRUNC, as shells do
    assert state.read_text() == "start\n"
    assert stat.S_ISREG(state.stat().st_mode) and state.stat().st_size == 4096


def test_removed_stable_entries_are_invalidated_in_the_kernel_cache(toy: DaemonProcess
                                                                     ) -> None:
    stable = toy.mount_dir / "stable"
    assert stable.is_dir()  # now cached by the kernel for an hour
    (toy.mount_dir / "control").write_bytes(b"drop")
    deadline = time.monotonic() + 5
    while stable.exists():
        assert time.monotonic() < deadline, "the kernel still sees a removed entry"
        time.sleep(0.01)
    assert "stable" not in os.listdir(toy.mount_dir)


def test_read_only_attribute_refuses_writes(toy: DaemonProcess) -> None:
    with pytest.raises(PermissionError):
        (toy.mount_dir / "devices/platform/bus@f0000/5000000.m4fss/name").write_text("x")


def _open_as_nobody(path: str) -> int:
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError as exc:
        return exc.errno
    return 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_modes_are_enforced_for_other_users() -> None:
    # pytest's tmp_path is private to root; the other user must be able to reach the mount.
    base = Path(tempfile.mkdtemp(prefix="rpmsg-emu-perm-"))
    base.chmod(0o755)
    toy = toy_echo(base / "mnt")
    try:
        with multiprocessing.Pool(1) as pool:
            assert pool.apply(_open_as_nobody, (str(toy.mount_dir / "private"),)) == errno.EACCES
            assert pool.apply(_open_as_nobody, (str(toy.mount_dir / "echo"),)) == 0
    finally:
        toy.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def test_stopping_the_daemon_unmounts(toy: DaemonProcess) -> None:
    assert toy.stop(signal.SIGTERM) == 0
    assert str(toy.mount_dir) not in _mounts()
    assert not (toy.mount_dir / "echo").exists()


def test_ctrl_c_unmounts_too(toy: DaemonProcess) -> None:
    assert toy.stop(signal.SIGINT) == 0
    assert str(toy.mount_dir) not in _mounts()


def test_killed_daemon_leaves_clients_an_error_and_the_next_mount_works(
        toy: DaemonProcess, tmp_path: Path) -> None:
    fd = os.open(toy.mount_dir / "echo", os.O_RDWR)
    reader = BlockedRead(fd, 64, settle=0.3)
    toy.proc.kill()
    toy.proc.wait(10)
    assert reader.wait().errno == errno.ECONNABORTED  # the kernel aborts requests in flight
    with pytest.raises(OSError) as err:
        os.stat(toy.mount_dir / "echo")
    assert err.value.errno == errno.ENOTCONN
    with pytest.raises(OSError) as err:
        os.close(fd)  # the fd is released all the same; flush reports the lost daemon
    assert err.value.errno == errno.ENOTCONN

    again = toy_echo(toy.mount_dir)  # detects the stale mount and replaces it
    try:
        fd = os.open(again.mount_dir / "echo", os.O_RDWR)
        os.write(fd, b"back")
        assert os.read(fd, 16) == b"back"
        os.close(fd)
        assert alive(again.proc.pid)
    finally:
        again.cleanup()


def test_a_second_daemon_on_a_live_mount_is_refused(toy: DaemonProcess) -> None:
    script = Path(__file__).with_name("toy_echo_fs.py")
    second = subprocess.run([sys.executable, str(script), str(toy.mount_dir)],
                            capture_output=True, text=True, timeout=30)
    assert second.returncode != 0
    assert "already served by a running FUSE daemon" in second.stderr
    assert alive(toy.proc.pid)


def _mounts() -> str:
    return Path("/proc/self/mounts").read_text()
