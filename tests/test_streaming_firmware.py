"""A firmware that streams without pause does not freeze the emulator.

On the board a remote core runs beside Linux; here it shares the daemon's one trio thread with
Linux's model, the FUSE session and the other cores. The source firmware, told to send a
billion messages, sends back to back from its own task. While it streams, a reader gets its
messages in order, sysfs answers, and SIGTERM stops the daemon.
"""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

from daemon_process import DaemonProcess, make_mount_dir
from rpmsg_ioctl import eptdevs

WAIT_S = 10.0  # bounded waits: a frozen daemon answers nothing, not even poll()
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def flooding_board(tmp_path: Path) -> Iterator[tuple[Path, DaemonProcess]]:
    """AM62x whose core 9 streams 64-byte messages without end once Linux says hello."""
    board = tmp_path / "flood.toml"
    board.write_text('soc = "AM62X"\n[cores.9]\nfirmware = "source"\n'
                     "[cores.9.config]\nsize = 64\ncount = 1000000000\n")
    root = tmp_path / "board"
    make_mount_dir(root)
    # rpmsg0: the source firmware's rpmsg_chrdev channel, once its announcement has been
    # handled; rpmsg_ctrl0 comes earlier, at the core's virtio probe.
    daemon = DaemonProcess([sys.executable, "-m", "fusedev.cli", "mount", str(root),
                            "--board", str(board)], root, "dev/rpmsg0")
    try:
        yield root, daemon
    finally:
        daemon.cleanup()  # a frozen daemon is killed; its blocked clients get ECONNABORTED


def read_sequence(fd: int, count: int, seen: list[int]) -> None:
    """Read `count` messages, keeping their sequence numbers (an error ends the thread)."""
    for _ in range(count):
        seen.append(struct.unpack_from("<I", os.read(fd, 496))[0])


def test_the_emulator_answers_while_a_firmware_streams_without_pause(
        flooding_board: tuple[Path, DaemonProcess]) -> None:
    root, daemon = flooding_board
    chrdev = next(node for node, name in eptdevs(root).items() if name == "rpmsg_chrdev")
    fd = os.open(root / "dev" / chrdev, os.O_RDWR)
    os.write(fd, b"hello")  # the source firmware starts streaming to whoever speaks first

    seen: list[int] = []
    reader = threading.Thread(target=read_sequence, args=(fd, 2000, seen), daemon=True)
    reader.start()
    reader.join(WAIT_S)
    assert not reader.is_alive(), f"only {len(seen)} of 2000 messages in {WAIT_S} s: frozen"
    assert seen == list(range(2000))

    state = subprocess.run(["cat", str(root / "sys/class/remoteproc/remoteproc0/state")],
                           capture_output=True, text=True, timeout=WAIT_S)
    assert state.stdout == "running\n"

    daemon.proc.terminate()
    try:
        assert daemon.proc.wait(WAIT_S) == 0, daemon.log()
    except subprocess.TimeoutExpired:
        pytest.fail(f"the daemon still serves {WAIT_S} s after SIGTERM", pytrace=False)
    os.close(fd)
