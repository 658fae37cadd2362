"""The endpoint device's receive queue, answered in C, still behaves as rpmsg_char's.

The eptdev's messages and the reads waiting for them live in the FUSE binding
(fusedev/fuse/message_queue.c): a message that arrives while a read waits answers it without
Python. A C program (tests/c/eptdev_queue.c) checks what a user of /dev/rpmsgN would notice
(drivers/rpmsg/rpmsg_char.c: rpmsg_ept_cb, rpmsg_eptdev_read_iter, rpmsg_eptdev_poll,
rpmsg_eptdev_release, rpmsg_chrdev_eptdev_destroy); EINTR, EPIPE, poll and O_NONBLOCK right
after traffic are in test_busy_polling.py, stops and debuggers in test_eptdev_signals.py.
"""
from __future__ import annotations

import errno
import json
import os
import select
import subprocess
import threading
import time
from pathlib import Path

import pytest

from blocked_read import wait_until_asleep
from c_clients import compile_client
from emulator_thread import EmulatorThread, make_board
from fusedev.fuse import fuse_session
from rpmsg_ioctl import create_ept, destroy

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def client_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_client("eptdev_queue", tmp_path_factory.mktemp("c"))


def run_client(exe: Path, emu, *args: str) -> list[str]:
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def echo_node(emu, name: str) -> str:
    return create_ept(emu.root, name, dst=14)  # the echo firmware's rpmsg_chrdev endpoint


def answered_at_once(emu, node: str) -> int:
    """How many messages the eptdev's queue handed straight to a waiting READ (in C)."""
    return emu.call(
        lambda: emu.emulator.root.children["dev"].children[node].fops.queue.answered_at_once)


def test_two_readers_blocked_on_one_fd_each_get_one_message_in_order(client_exe, emu) -> None:
    node = echo_node(emu, "two-readers")
    lines = run_client(client_exe, emu, str(emu.root / "dev" / node), "two-readers")
    # The oldest waiting read gets the first message (the kernel wakes both readers and the
    # first to run dequeues it; here the oldest READ always wins).
    assert sorted(lines[:2]) == ["A 6 first", "B 7 second"]
    assert lines[2:] == ["done"]
    # Both went from the arriving message straight to the waiting READ, in C.
    assert answered_at_once(emu, node) >= 2


def test_a_short_read_gets_the_start_of_the_message_and_the_next_read_the_next(client_exe,
                                                                               emu) -> None:
    node = echo_node(emu, "short")
    assert run_client(client_exe, emu, str(emu.root / "dev" / node), "short") == [
        "queued 4 0123", "waiting 4 ghij", "next 5 next", "done"]


def test_destroy_gives_every_blocked_reader_epipe(client_exe, emu) -> None:
    node = create_ept(emu.root, "destroyed", dst=14)
    lines = run_client(client_exe, emu, str(emu.root / "dev" / node), "destroy")
    assert sorted(lines[:2]) == [f"A -1 errno {errno.EPIPE}", f"B -1 errno {errno.EPIPE}"]
    assert lines[2:] == [f"after -1 errno {errno.EPIPE}", "done"]
    assert not (emu.root / "dev" / node).exists()


def test_a_read_blocked_while_the_core_stops_gets_epipe(client_exe, emu) -> None:
    """Stopping the remote core removes its channels and their eptdevs
    (rpmsg_chrdev_remove -> rpmsg_chrdev_eptdev_destroy): a waiting read ends with EPIPE."""
    node = echo_node(emu, "core-stops")
    client = subprocess.Popen([str(client_exe), str(emu.root / "dev" / node), "block"],
                              stdout=subprocess.PIPE, text=True)
    assert client.stdout is not None
    waiting = client.stdout.readline().split()
    assert waiting[0] == "waiting", waiting
    wait_until_asleep(client.pid, int(waiting[1]))
    (emu.root / "sys/class/remoteproc/remoteproc0/state").write_text("stop")
    out, _ = client.communicate(timeout=30)
    assert out.splitlines() == [f"read -1 errno {errno.EPIPE}", f"after -1 errno {errno.EPIPE}",
                                "done"]
    assert not (emu.root / "dev" / node).exists()



def test_messages_queued_before_close_are_gone_after_reopen(client_exe, emu) -> None:
    node = echo_node(emu, "reopen")
    assert run_client(client_exe, emu, str(emu.root / "dev" / node), "reopen") == [
        f"reopened -1 errno {errno.EAGAIN}", "read 6 fresh", "done"]


def test_a_handled_signal_ends_one_blocked_read_and_the_next_message_goes_to_the_other(
        client_exe, emu) -> None:
    node = echo_node(emu, "eintr")
    assert run_client(client_exe, emu, str(emu.root / "dev" / node), "eintr") == [
        f"A -1 errno {errno.EINTR}", "handled 1", "B 6 after", "main 6 again", "done"]


def test_select_over_two_eptdevs_wakes_for_the_one_with_a_message(client_exe, emu) -> None:
    first, second = echo_node(emu, "select-1"), echo_node(emu, "select-2")
    lines = run_client(client_exe, emu, str(emu.root / "dev" / first),
                       str(emu.root / "dev" / second), "select")
    assert lines == ["select 1: second", "read 14 to the second",
                     "select 1: first", "read 13 to the first", "done"]


def test_round_trips_stay_whole_while_other_endpoints_come_and_go(client_exe, emu) -> None:
    """Each DESTROY_EPT removes nodes whose cached entries the daemon invalidates; meanwhile it
    holds its replies (fuse_ops.py `Operations.send`), reads go through Python and messages
    stay queued until the hold ends. No echo may be lost, doubled or reordered."""
    node = echo_node(emu, "steady")
    done = threading.Event()
    churned = 0

    def churn() -> None:
        nonlocal churned
        while not done.is_set():
            other = create_ept(emu.root, f"churn{churned % 4}", dst=14)
            fd = os.open(emu.root / "dev" / other, os.O_RDWR)
            destroy(fd)
            os.close(fd)
            churned += 1

    churner = threading.Thread(target=churn)
    churner.start()
    try:
        lines = run_client(client_exe, emu, str(emu.root / "dev" / node), "echo", "2000")
    finally:
        done.set()
        churner.join(30)
    assert lines == ["echoed 2000", "done"]
    assert churned > 0


def c_path_counts(emu, node: str) -> tuple[int, int]:
    """Messages Linux's side of the eptdev's link sent and received in C so far
    (remote_fw/host_transport.c: eptdev_write.c's WRITEs, endpoint_table.c's deliveries)."""
    def counts() -> tuple[int, int]:
        host = emu.emulator.root.children["dev"].children[node].fops.vrp.host
        return host.sent_in_c, host.received_in_c
    return emu.call(counts)


def test_an_echo_goes_through_linux_side_in_c_both_ways(client_exe, emu) -> None:
    """write() is sent, and the reply delivered to the waiting read(), without Python on
    Linux's side (eptdev_write.c, endpoint_table.c); every echo comes back whole, in order."""
    node = echo_node(emu, "c-path")
    sent, received = c_path_counts(emu, node)
    assert run_client(client_exe, emu, str(emu.root / "dev" / node), "echo", "500") == [
        "echoed 500", "done"]
    sent_after, received_after = c_path_counts(emu, node)
    assert sent_after - sent == 500
    assert received_after - received == 500
    # Each reply's interrupt was handled by the FUSE loop in C (interrupt_lines.c).
    lines = emu.call(lambda: emu.emulator.mount.irq_lines)
    assert lines.handled >= 500


def test_without_busy_polling_the_loop_sleeps_and_serves_in_its_own_step(
        client_exe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As on one CPU (no busy-polling, fuse_session.spin_ns): between the client's calls the
    FUSE loop sleeps in C in its own step, with nothing else of trio's to run, and serves the
    next request and the reply's interrupt there (receive_loop.c rpe_loop_idle, kept by
    fusedev/fuse/trio_idle.py). Every echo still comes back whole and in order."""
    monkeypatch.setattr(fuse_session, "SPIN_NS", 0)
    root = tmp_path / "board"
    root.mkdir()
    emu = EmulatorThread(make_board(), root)
    try:
        node = echo_node(emu, "idle-loop")
        idle = emu.call(lambda: emu.emulator.mount.trio_idle)
        woken = idle.c.woken
        assert run_client(client_exe, emu, str(root / "dev" / node), "echo", "500") == [
            "echoed 500", "done"]
        assert idle.c.woken - woken >= 500
    finally:
        emu.stop()


def test_a_full_tx_ring_gives_eagain_then_a_blocking_write_waits_for_a_buffer(
        client_exe, emu) -> None:
    """A stalled core takes nothing: the C write path sends until the last TX buffer is gone,
    then Python's path answers EAGAIN (O_NONBLOCK) or keeps the write waiting (rpmsg_send's
    wait for a TX buffer), which ends when the stall does; every echo then comes back."""
    faults = emu.root / "sys/kernel/debug/rpmsg_emu/faults/remoteproc0"
    node = echo_node(emu, "fill")
    sent, _received = c_path_counts(emu, node)
    faults.write_text("stall=true\n")
    client = subprocess.Popen([str(client_exe), str(emu.root / "dev" / node), "fill"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout is not None
        assert client.stdout.readline() == f"filled 256 errno {errno.EAGAIN}\n"
        assert client.stdout.readline() == "waiting\n"
        wait_until_asleep(client.pid, client.pid)
        assert client.poll() is None  # the blocking write waits for a buffer
        faults.write_text("clear\n")
        assert client.stdout.readline() == "echoes 257\n"
        assert client.stdout.readline() == "done\n"
        assert client.wait(30) == 0
    finally:
        client.kill()
        client.wait()
    assert c_path_counts(emu, node)[0] - sent == 256  # then EAGAIN and the wait: Python


def test_the_trace_sees_every_message_of_a_burst(client_exe, emu) -> None:
    """While the trace pipe has a reader, every message goes through Python, which records
    it; the C path takes none of them."""
    trace = os.open(emu.root / "sys/kernel/debug/rpmsg_emu/trace_pipe",
                    os.O_RDONLY | os.O_NONBLOCK)
    try:
        node = echo_node(emu, "traced")
        before = c_path_counts(emu, node)
        assert run_client(client_exe, emu, str(emu.root / "dev" / node), "echo", "300") == [
            "echoed 300", "done"]
        assert c_path_counts(emu, node) == before
        records = _trace_messages(trace, 600)
    finally:
        os.close(trace)
    sent = [b"echo %d\0" % i for i in range(300)]
    assert [bytes.fromhex(r["data"]) for r in records if r["dir"] == "tx"] == sent
    assert [bytes.fromhex(r["data"]) for r in records if r["dir"] == "rx"] == sent


def _trace_messages(fd: int, count: int) -> list[dict]:
    """The next `count` data messages of the trace pipe (name-service ones left out)."""
    records: list[dict] = []
    pending = b""
    deadline = time.monotonic() + 30
    while len(records) < count:
        assert time.monotonic() < deadline, f"{len(records)} of {count} messages traced"
        select.select([fd], [], [], 1)
        try:
            pending += os.read(fd, 65536)
        except BlockingIOError:
            continue
        *lines, pending = pending.split(b"\n")
        records += [r for r in map(json.loads, lines)
                    if r["kind"] == "message" and r["dst"] != 53]
    return records
