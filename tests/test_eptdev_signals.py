"""Stops and debuggers are not signals to fail on (issue 11, item 10).

A C program blocks in read() or poll() on /dev/rpmsgN in a second thread (so the FUSE
request comes from a thread id that is not the process id). The remote answers when the test
says so: a relay firmware forwards whatever it is sent to the address named in the message.
On the board a blocked rpmsg_char read returns -ERESTARTSYS on any wake-up by a signal, and
the kernel restarts it after a stop or a ptrace stop, or gives EINTR when a handler runs.
Under FUSE the kernel sends INTERRUPT for all of them; the emulator answers EINTR only when
the thread has a signal it catches or dies of.
"""
from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from blocked_read import wait_until_asleep
from c_clients import compile_client
from emulator_thread import with_firmware
from rpmsg_ioctl import create_ept

RELAY = '''
"""Forwards "<dst>:<payload>" to address dst: the test decides when a reply arrives.
"stall <seconds>" keeps the core's receive loop busy, so Linux's TX buffers are not
returned meanwhile; anything else is dropped."""


async def main(ctx):
    async def relay(ep, src, data):
        if data.startswith(b"stall "):
            await ctx.sleep(float(data[6:]))
        elif b":" in data:
            dst, _, payload = data.partition(b":")
            await ep.send(int(dst), payload)

    ctx.create_endpoint(60, callback=relay)
'''
EINTR_LINE = f"read -1 errno {errno.EINTR}"


@pytest.fixture(scope="module")
def client_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_client("eptdev_signals", tmp_path_factory.mktemp("c"))


@pytest.fixture
def board(tmp_path: Path):
    emu = with_firmware(tmp_path, {9: "relay"}, {"relay": RELAY})
    yield emu.root
    emu.stop()


class Client:
    """The C program, blocked on its own endpoint; `reply()` makes the remote answer it."""

    def __init__(self, exe: Path, root: Path, wait: str, handler: str,
                 stall: float = 0) -> None:
        self.root = root
        trigger = create_ept(root, f"trigger-{wait}-{handler}", dst=60)
        self.trigger = os.open(root / "dev" / trigger, os.O_RDWR)
        if stall:
            os.write(self.trigger, f"stall {stall}".encode())
        node = create_ept(root, f"sig-{wait}-{handler}", dst=60)
        self.proc = subprocess.Popen([str(exe), str(root / "dev" / node), wait, handler],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.before = []
        while not (line := self.proc.stdout.readline()).startswith("waiting"):
            assert line, "the client ended before it waited"
            self.before.append(line.rstrip("\n"))
        self.tid = int(line.split()[1])
        self.addr = int((root / "sys/class/rpmsg" / node / "src").read_text())
        wait_until_asleep(self.proc.pid, self.tid)

    def signal(self, signum: int, settle: float = 0.3) -> None:
        os.kill(self.proc.pid, signum)
        time.sleep(settle)

    def reply(self, payload: bytes = b"ping") -> None:
        os.write(self.trigger, str(self.addr).encode() + b":" + payload)

    def output(self, timeout: float = 20) -> list[str]:
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            pytest.fail("the client is still blocked")
        finally:
            os.close(self.trigger)
        return out.splitlines()


@pytest.mark.parametrize("wait", ["read", "poll"])
@pytest.mark.parametrize("stop", [signal.SIGSTOP, signal.SIGTSTP], ids=["SIGSTOP", "ctrl-z"])
def test_a_blocked_call_survives_a_stop_and_continue(client_exe, board, wait, stop) -> None:
    client = Client(client_exe, board, wait, "none")
    client.signal(stop)
    client.signal(signal.SIGCONT)
    assert client.proc.poll() is None
    client.reply()
    lines = client.output()
    assert lines[-2:] == ["read 4 ping", "handled 0"]
    if wait == "poll":
        assert lines[0] == "poll 1 revents 0x1"


@pytest.mark.parametrize("stop", [signal.SIGSTOP, signal.SIGTSTP], ids=["SIGSTOP", "ctrl-z"])
def test_a_write_blocked_on_a_full_tx_ring_survives_a_stop_and_continue(client_exe, board,
                                                                         stop) -> None:
    """The remote stops taking messages for 6 s: the ring fills (256 buffers) and the next
    write sleeps in get_a_tx_buf; it completes when the remote catches up."""
    client = Client(client_exe, board, "write", "none", stall=6)
    assert client.before == [f"filled 256 errno {errno.EAGAIN}"]
    client.signal(stop)
    client.signal(signal.SIGCONT)
    assert client.output() == ["write 4", "handled 0"]


def test_a_caught_signal_ends_a_blocked_write_with_eintr(client_exe, board) -> None:
    client = Client(client_exe, board, "write", "catch", stall=6)
    client.signal(signal.SIGSTOP)
    client.signal(signal.SIGCONT)
    client.signal(signal.SIGUSR1)
    assert client.output() == [f"write -1 errno {errno.EINTR}", "handled 1"]


def test_a_message_that_arrives_while_stopped_is_read_after_continue(client_exe, board
                                                                     ) -> None:
    client = Client(client_exe, board, "read", "none")
    client.signal(signal.SIGSTOP)
    client.reply(b"while stopped")
    time.sleep(0.5)
    client.signal(signal.SIGCONT)
    assert client.output() == ["read 13 while stopped", "handled 0"]


@pytest.mark.parametrize("wait", ["read", "poll"])
def test_a_caught_signal_ends_the_call_with_eintr(client_exe, board, wait) -> None:
    client = Client(client_exe, board, wait, "catch")
    client.signal(signal.SIGUSR1)
    lines = client.output()
    if wait == "poll":
        assert lines[0] == "poll -1 errno 4"
        assert lines[-1] == "handled 1"
    else:
        assert lines == [EINTR_LINE, "handled 1"]


def test_a_signal_after_a_stop_still_ends_the_call(client_exe, board) -> None:
    """The kernel sends one INTERRUPT per request: the one for the stop was waited out, so
    the emulator keeps looking at the thread and the later SIGUSR1 still gives EINTR."""
    client = Client(client_exe, board, "read", "catch")
    client.signal(signal.SIGSTOP)
    client.signal(signal.SIGCONT)
    client.signal(signal.SIGUSR1)
    assert client.output() == [EINTR_LINE, "handled 1"]


@pytest.mark.parametrize("stopped_first", [False, True], ids=["at-once", "after-a-stop"])
def test_a_signal_that_kills_kills_at_once(client_exe, board, stopped_first) -> None:
    client = Client(client_exe, board, "read", "none")
    if stopped_first:
        client.signal(signal.SIGSTOP)
        client.signal(signal.SIGCONT)
    client.signal(signal.SIGINT, settle=0)
    assert client.proc.wait(timeout=10) == -signal.SIGINT
    os.close(client.trigger)


def test_sa_restart_sees_eintr_where_the_board_restarts(client_exe, board) -> None:
    """FUSE cannot restart a call (an errno ≥ 512 cannot travel): the handler runs and read
    fails with EINTR, where the board's kernel restarts it (docs/conformance.md)."""
    client = Client(client_exe, board, "read", "restart")
    client.signal(signal.SIGUSR1)
    assert client.output() == [EINTR_LINE, "handled 1"]


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
@pytest.mark.parametrize("detach", [False, True], ids=["traced", "detached"])
def test_strace_attaching_does_not_end_the_read(client_exe, board, tmp_path, detach) -> None:
    client = Client(client_exe, board, "read", "none")
    log = tmp_path / "strace.log"
    strace = subprocess.Popen(["strace", "-p", str(client.tid), "-o", str(log)],
                              stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    if detach:
        # strace detaches once the thread has stopped for it, which it can do only when the
        # read returns (FUSE keeps it in the kernel): still attached until then.
        strace.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert strace.poll() is None
    client.reply()
    assert client.output() == ["read 4 ping", "handled 0"]
    # Detached by SIGINT, strace ends by that signal; tracing to the end, with 0.
    assert strace.wait(timeout=10) == (-signal.SIGINT if detach else 0)
    if not detach:
        # The thread could stop for the tracer only once the read had returned: the trace
        # starts after it, and no read was ever interrupted.
        trace = log.read_text()
        assert "+++ exited with 0 +++" in trace
        assert "EINTR" not in trace and "ERESTART" not in trace


@pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed")
def test_gdb_attaching_and_detaching_does_not_end_the_read(client_exe, board) -> None:
    """gdb attaches with PTRACE_ATTACH (a SIGSTOP to every thread) and waits for the threads
    to stop; the one in the read stops once the read has returned (docs/conformance.md)."""
    client = Client(client_exe, board, "read", "none")
    gdb = subprocess.Popen(["gdb", "-nx", "-batch", "-p", str(client.proc.pid),
                            "-ex", "detach"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    time.sleep(2.0)
    client.reply()
    assert client.output(timeout=60) == ["read 4 ping", "handled 0"]
    assert gdb.wait(timeout=60) == 0
