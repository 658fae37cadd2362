"""remoteproc from user space: state, firmware, recovery, coredump, debugfs crash and trace.

Stopping or crashing a core takes its rpmsg devices away (readers get EPIPE, nodes vanish);
starting it brings fresh ones.
"""
from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from blocked_read import BlockedRead
from rpmsg_ioctl import create_ept
from sysfs_io import write, write_errno

M4F = "sys/class/remoteproc/remoteproc0"  # AM62x id 9, 5000000.m4fss
R5F = "sys/class/remoteproc/remoteproc1"  # AM62x id 15, 78000000.r5f (IPC-only: attached)
M4F_DEBUG = "sys/kernel/debug/remoteproc/remoteproc0"


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def channel_node(root: Path, virtio: str) -> str:
    chan = root / f"sys/bus/virtio/devices/{virtio}/{virtio}.rpmsg_chrdev.-1.14/rpmsg"
    return os.listdir(chan)[0]


def test_attributes_read_as_on_the_board(emu) -> None:
    rproc = emu.root / M4F
    assert (rproc / "name").read_text() == "5000000.m4fss\n"
    assert (rproc / "state").read_text() == "running\n"
    assert (rproc / "firmware").read_text() == "am62-mcu-m4f0_0-fw\n"
    assert (rproc / "recovery").read_text() == "disabled\n"  # every K3 driver disables it
    assert (rproc / "coredump").read_text() == "disabled\n"
    r5f = emu.root / R5F
    assert (r5f / "state").read_text() == "attached\n"  # the DM firmware, IPC-only mode
    assert (r5f / "firmware").read_text() == "unknown\n"
    assert (r5f / "recovery").read_text() == "disabled\n"
    assert os.path.realpath(rproc).startswith(
        str(emu.root / "sys/devices/platform/bus@f0000/bus@f0000:bus@4000000/5000000.m4fss/"))


def test_28_state_words_and_their_errnos(emu) -> None:
    state = emu.root / M4F / "state"
    write(state, "start\n")  # already running: success (v5.19+), one more user
    write(state, "stop")  # drops that user: still running
    assert state.read_text() == "running\n"
    write(state, "stop")
    assert state.read_text() == "offline\n"
    assert write_errno(state, "stop") == errno.EINVAL
    assert write_errno(state, "reboot") == errno.EINVAL
    write(state, "start")
    assert state.read_text() == "running\n"


def test_29_firmware_is_busy_unless_offline_and_empty_is_einval(emu) -> None:
    rproc = emu.root / M4F
    assert write_errno(rproc / "firmware", "sink") == errno.EBUSY
    write(rproc / "state", "stop")
    assert write_errno(rproc / "firmware", "\n") == errno.EINVAL
    write(rproc / "firmware", "no-such-firmware\n")
    assert (rproc / "firmware").read_text() == "no-such-firmware\n"
    assert write_errno(rproc / "state", "start") == errno.ENOENT  # request_firmware
    assert (rproc / "state").read_text() == "offline\n"
    write(rproc / "firmware", "echo")
    write(rproc / "state", "start")
    assert (rproc / "state").read_text() == "running\n"


def test_firmware_names_cannot_leave_the_firmware_directories(emu) -> None:
    rproc = emu.root / M4F
    write(rproc / "state", "stop")
    write(rproc / "firmware", "../../etc/passwd")
    assert write_errno(rproc / "state", "start") == errno.EINVAL


def test_30_coredump_and_recovery_words(emu) -> None:
    rproc = emu.root / M4F
    write(rproc / "coredump", "inline")
    assert (rproc / "coredump").read_text() == "inline\n"
    assert write_errno(rproc / "coredump", "sometimes") == errno.EINVAL
    assert write_errno(rproc / "recovery", "maybe") == errno.EINVAL
    write(rproc / "recovery", "disabled")
    assert (rproc / "recovery").read_text() == "disabled\n"


def test_31_stop_while_a_reader_blocks_gives_epipe_and_start_brings_fresh_devices(emu
                                                                                 ) -> None:
    node = create_ept(emu.root, "reader")
    fd = os.open(emu.root / "dev" / node, os.O_RDWR)
    reader = BlockedRead(fd)
    write(emu.root / M4F / "state", "stop")
    assert reader.wait().errno == errno.EPIPE
    assert node not in os.listdir(emu.root / "dev")
    assert not (emu.root / "sys/bus/virtio/devices/virtio0").exists()
    assert "rpmsg_ctrl0" not in os.listdir(emu.root / "dev")

    write(emu.root / M4F / "state", "start")
    # Fresh numbers: virtio0 is free again (lowest free), but rpmsg_ctrl0 is still held
    # by nobody, so the new control device may reuse it; the old eptdev fd is still open.
    wait_for(lambda: any(e.endswith("rpmsg_chrdev.-1.14") for e in
                         os.listdir(emu.root / "sys/bus/virtio/devices/virtio0")))
    new_node = create_ept(emu.root, "after-restart")
    assert new_node != node  # still held by the open fd
    fd2 = os.open(emu.root / "dev" / new_node, os.O_RDWR)
    os.write(fd2, b"back again")
    assert os.read(fd2, 496) == b"back again"
    os.close(fd2)
    os.close(fd)


def test_crash_with_recovery_enabled_restarts_the_core_with_new_devices(emu) -> None:
    before = channel_node(emu.root, "virtio0")
    fd = os.open(emu.root / "dev" / before, os.O_RDWR)
    write(emu.root / M4F / "recovery", "enabled")
    write(emu.root / M4F_DEBUG / "crash", "1")  # RPROC_WATCHDOG
    with pytest.raises(OSError) as err:
        os.read(fd, 496)
    assert err.value.errno == errno.EPIPE
    wait_for(lambda: (emu.root / "sys/bus/virtio/devices/virtio0").exists() and any(
        e.endswith("rpmsg_chrdev.-1.14")
        for e in os.listdir(emu.root / "sys/bus/virtio/devices/virtio0")))
    assert (emu.root / M4F / "state").read_text() == "running\n"
    after = channel_node(emu.root, "virtio0")
    assert after != before  # the old number is held by our open fd
    os.close(fd)


def test_crash_with_recovery_disabled_stays_crashed_until_recover(emu) -> None:
    rproc = emu.root / M4F
    debug = emu.root / M4F_DEBUG
    assert write_errno(debug / "crash", "oops") == errno.EINVAL
    write(debug / "crash", "2")  # RPROC_FATAL_ERROR
    assert (rproc / "state").read_text() == "crashed\n"
    assert write_errno(rproc / "state", "stop") == errno.EINVAL
    write(rproc / "state", "start")  # returns 0 and does nothing
    assert (rproc / "state").read_text() == "crashed\n"
    assert write_errno(rproc / "coredump", "enabled") == errno.EBUSY
    write(debug / "recovery", "recover")
    wait_for(lambda: (rproc / "state").read_text() == "running\n")


def test_debugfs_trace_shows_what_the_firmware_logged(emu) -> None:
    trace = (emu.root / "sys/kernel/debug/remoteproc/remoteproc0/trace0").read_text()
    assert "5000000.m4fss" in trace and "echo" in trace
    assert (emu.root / "sys/kernel/debug/remoteproc/remoteproc0/name").read_text() == \
        "5000000.m4fss\n"


@pytest.mark.board(firmware={9: "echo", 15: "echo"}, core={9: {"processing_us": 1_000_000}})
def test_a_slow_core_from_the_board_file_answers_slowly(emu) -> None:
    slow = os.open(emu.root / "dev" / create_ept(emu.root, "slow", ctrl=0),
                   os.O_RDWR | os.O_NONBLOCK)
    fast = os.open(emu.root / "dev" / create_ept(emu.root, "fast", ctrl=1), os.O_RDWR)
    started = time.monotonic()
    os.write(slow, b"s")
    os.write(fast, b"f")
    assert os.read(fast, 16) == b"f"  # the other core is not held up
    with pytest.raises(BlockingIOError):
        os.read(slow, 16)  # core 9 is still busy with its one second per message
    os.set_blocking(slow, True)
    assert os.read(slow, 16) == b"s"
    assert time.monotonic() - started >= 1.0
    os.close(slow)
    os.close(fast)
