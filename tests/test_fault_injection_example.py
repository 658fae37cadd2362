"""A worked example: test an application's retry logic against lost messages.

rpmsg has no retransmission: a reply the remote never sends, or loses, is simply not there,
and an application must time out and ask again. The board below makes core 9 lose its first
two replies (`[cores.9.faults] drop_tx = 2`), so the application's retry path runs for real,
through the real mount, and the emulator's trace shows each injected loss.

In a board file the same is:

    [cores.9.faults]
    drop_tx = 2          # also: drop_rx, drop_*_fraction, delay_us, jitter_us, stall,
                         # crash_at_message, crash_after_ms, endpoint, seed
"""
from __future__ import annotations

import json
import os
import select
import time
from pathlib import Path

import pytest

from rpmsg_ioctl import create_ept


class NoReply(Exception):
    pass


def request(fd: int, payload: bytes, timeout: float = 0.2, retries: int = 3) -> tuple[bytes, int]:
    """The application's logic under test: send, wait up to `timeout`, send again up to
    `retries` times. Returns the reply and how many sends it took."""
    for attempt in range(1, retries + 2):
        os.write(fd, payload)
        readable, _, _ = select.select([fd], [], [], timeout)
        if readable:
            return os.read(fd, 512), attempt
    raise NoReply(payload)


@pytest.mark.board(firmware={9: "echo", 15: "echo"}, core={9: {"faults": {"drop_tx": 2}}})
def test_the_application_retries_until_a_reply_gets_through(emu) -> None:
    trace = os.open(emu.root / "sys/kernel/debug/rpmsg_emu/trace_pipe",
                    os.O_RDONLY | os.O_NONBLOCK)
    fd = os.open(emu.root / "dev" / create_ept(emu.root, "app", ctrl=0), os.O_RDWR)
    assert request(fd, b"status?") == (b"status?", 3)  # two replies lost, the third arrives
    assert request(fd, b"again?") == (b"again?", 1)  # the plan dropped only two
    events = [json.loads(line) for line in os.read(trace, 65536).splitlines()]
    drops = [e for e in events if e["kind"] == "fault"]
    assert [(e["fault"], e["dir"], e["len"]) for e in drops] == [("drop", "rx", 7)] * 2
    os.close(fd)
    os.close(trace)


@pytest.mark.board(firmware={9: "echo", 15: "echo"},
                   core={9: {"num_bufs": 8, "faults": {"stall": True}}})
def test_a_stalled_core_makes_a_nonblocking_writer_see_eagain(emu) -> None:
    fd = os.open(emu.root / "dev" / create_ept(emu.root, "app", ctrl=0),
                 os.O_RDWR | os.O_NONBLOCK)
    written = 0
    with pytest.raises(BlockingIOError):
        while written < 100:
            os.write(fd, b"%d" % written)
            written += 1
    assert written == 8  # the core took nothing: Linux's 8 TX buffers are all in the ring
    os.close(fd)


def test_faults_are_set_and_cleared_at_run_time_through_debugfs(emu) -> None:
    """rpmsg_emu/faults/remoteprocN (the emulator's own debugfs directory): key=value words."""
    faults = emu.root / "sys/kernel/debug/rpmsg_emu/faults/remoteproc0"
    assert faults.read_text() == "none\n"
    fd = os.open(emu.root / "dev" / create_ept(emu.root, "app", ctrl=0), os.O_RDWR)
    faults.write_text("drop_tx=1 delay_us=100\n")
    assert faults.read_text() == "drop_tx=1\ndelay_us=100\n"
    assert request(fd, b"one") == (b"one", 2)
    for bad in ("drop_tx=-1", "drop=1", "stall=maybe", "delay_us"):
        with pytest.raises(OSError) as info:
            faults.write_text(bad)
        assert info.value.errno == 22  # EINVAL, the plan unchanged
    faults.write_text("stall=true")
    with pytest.raises(NoReply):
        request(fd, b"stalled", timeout=0.05, retries=0)
    faults.write_text("clear")
    assert faults.read_text() == "none\n"
    readable, _, _ = select.select([fd], [], [], 5)  # the stall ends: what waited is answered
    assert readable and os.read(fd, 512) == b"stalled"
    assert request(fd, b"two") == (b"two", 1)
    os.close(fd)


def test_a_channel_is_withdrawn_and_announced_again_through_debugfs(emu) -> None:
    """The remote takes its service away (NS destroy: the channel and its devices go) and
    announces it again: what an application must survive when a firmware restarts a service."""
    faults = emu.root / "sys/kernel/debug/rpmsg_emu/faults/remoteproc0"
    channels = emu.root / "sys/bus/rpmsg/devices"

    def chrdev_channels() -> list[str]:
        return [n for n in os.listdir(channels) if ".rpmsg_chrdev." in n]

    before = chrdev_channels()
    faults.write_text("withdraw=rpmsg_chrdev reannounce_after_ms=300")
    deadline = time.monotonic() + 5
    while len(chrdev_channels()) == len(before):
        assert time.monotonic() < deadline, "the channel was not withdrawn"
        time.sleep(0.01)
    while len(chrdev_channels()) < len(before):
        assert time.monotonic() < deadline, "the channel was not announced again"
        time.sleep(0.01)
    fd = os.open(emu.root / "dev" / create_ept(emu.root, "app", ctrl=0), os.O_RDWR)
    assert request(fd, b"back") == (b"back", 1)
    os.close(fd)


@pytest.mark.rpmsg_board(soc="am62x", faults={9: {"drop_tx": 1}})
def test_the_public_fixture_takes_faults_and_injects_more_at_run_time(rpmsg_board) -> None:
    """The `rpmsg_board` fixture (fusedev/cli/pytest_plugin.py), as an application's own tests use
    it: faults from the marker at mount, more through `core.inject_faults()`."""
    fd = os.open(rpmsg_board / "dev" / create_ept(Path(rpmsg_board), "app", ctrl=0), os.O_RDWR)
    assert request(fd, b"first") == (b"first", 2)  # the marker's drop_tx=1
    rpmsg_board.core(9).inject_faults(drop_tx=2)
    assert request(fd, b"second") == (b"second", 3)
    rpmsg_board.core(9).inject_faults()  # cleared
    assert request(fd, b"third") == (b"third", 1)
    os.close(fd)
