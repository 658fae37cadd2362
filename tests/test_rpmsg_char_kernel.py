"""/dev/rpmsgN and /dev/rpmsg_ctrlN behave as the kernel's rpmsg_char and rpmsg_ctrl do.

Each test is a user's session with the devices of the default AM62x board (echo firmware on
both cores); the numbers in the names are the items of reference §8.
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import struct
import threading
import time

import pytest

from blocked_read import BlockedRead
from rpmsg_ioctl import (CREATE_DEV, CREATE_EPT, GET_OUTGOING_FLOWCONTROL, RELEASE_DEV,
                         RPMSG_ADDR_ANY, SET_INCOMING_FLOWCONTROL, create_ept, ctrl_ioctl,
                         destroy, eptdevs)


def open_ept(emu, name: str = "test-ept", dst: int = 14, src: int = RPMSG_ADDR_ANY,
             flags: int = 0) -> tuple[int, str]:
    node = create_ept(emu.root, name, dst=dst, src=src)
    return os.open(emu.root / "dev" / node, os.O_RDWR | flags), node


def errno_of(fn, *args) -> int:
    with pytest.raises(OSError) as err:
        fn(*args)
    return err.value.errno


def test_echo_round_trip_is_one_message_per_read(emu) -> None:
    fd, _ = open_ept(emu)
    os.write(fd, b"one")
    os.write(fd, b"two")
    assert os.read(fd, 496) == b"one"
    assert os.read(fd, 496) == b"two"
    os.close(fd)


def test_01_second_open_is_ebusy_even_in_the_same_process(emu) -> None:
    fd, node = open_ept(emu)
    assert errno_of(os.open, emu.root / "dev" / node, os.O_RDWR) == errno.EBUSY
    os.close(fd)
    os.close(os.open(emu.root / "dev" / node, os.O_RDWR))  # free again after close


def test_01_a_dup_keeps_the_file_open(emu) -> None:
    fd, node = open_ept(emu)
    twin = os.dup(fd)
    os.close(twin)  # a close, but not of the last reference: still busy
    assert errno_of(os.open, emu.root / "dev" / node, os.O_RDWR) == errno.EBUSY
    os.close(fd)


def test_03_open_with_an_explicit_src_already_bound_is_einval(emu) -> None:
    first, _ = open_ept(emu, "a", src=2000)
    node = create_ept(emu.root, "b", src=2000)  # the ioctl itself succeeds
    assert errno_of(os.open, emu.root / "dev" / node, os.O_RDWR) == errno.EINVAL
    os.close(first)
    os.close(os.open(emu.root / "dev" / node, os.O_RDWR))  # 2000 is free now


def test_04_nonblocking_read_of_an_empty_queue_is_eagain(emu) -> None:
    fd, _ = open_ept(emu, flags=os.O_NONBLOCK)
    assert errno_of(os.read, fd, 496) == errno.EAGAIN
    os.close(fd)


def test_04_blocking_read_woken_by_destroy_gets_epipe(emu) -> None:
    fd, _ = open_ept(emu)
    reader = BlockedRead(fd)
    destroy(fd)  # from another thread, while the read sleeps
    assert reader.wait().errno == errno.EPIPE
    os.close(fd)


def test_05_read_after_destroy_is_epipe_even_with_messages_queued(emu) -> None:
    fd, node = open_ept(emu)
    os.write(fd, b"queued")
    time.sleep(0.1)  # the echo is back in the queue
    destroy(fd)
    assert errno_of(os.read, fd, 496) == errno.EPIPE
    assert node not in os.listdir(emu.root / "dev")
    assert node not in eptdevs(emu.root)
    os.close(fd)


def test_06_short_read_truncates_and_drops_the_rest(emu) -> None:
    fd, _ = open_ept(emu)
    os.write(fd, b"0123456789")
    os.write(fd, b"next")
    assert os.read(fd, 4) == b"0123"
    assert os.read(fd, 496) == b"next"
    os.close(fd)


def test_08_writes_over_496_bytes_are_emsgsize_and_496_is_fine(emu) -> None:
    fd, _ = open_ept(emu)
    assert errno_of(os.write, fd, b"x" * 497) == errno.EMSGSIZE
    assert os.write(fd, b"y" * 496) == 496
    assert os.read(fd, 1000) == b"y" * 496
    os.close(fd)


def test_09_write_to_dst_any_is_einval(emu) -> None:
    fd, _ = open_ept(emu, dst=RPMSG_ADDR_ANY)
    assert errno_of(os.write, fd, b"hello") == errno.EINVAL
    os.close(fd)


def test_11_write_after_destroy_is_epipe(emu) -> None:
    fd, _ = open_ept(emu)
    destroy(fd)
    assert errno_of(os.write, fd, b"late") == errno.EPIPE
    os.close(fd)


def test_12_writev_sends_one_message(emu) -> None:
    fd, _ = open_ept(emu)
    assert os.writev(fd, [b"part one, ", b"part two"]) == 18
    assert os.read(fd, 496) == b"part one, part two"
    os.close(fd)


def test_13_poll_after_destroy_is_pollerr_only(emu) -> None:
    fd, _ = open_ept(emu)
    os.write(fd, b"data")
    time.sleep(0.1)
    destroy(fd)
    p = select.poll()
    p.register(fd, select.POLLIN | select.POLLOUT)
    assert p.poll(1000) == [(fd, select.POLLERR)]
    os.close(fd)


def test_13_a_sleeping_poll_is_woken_by_destroy(emu) -> None:
    fd, _ = open_ept(emu)
    timer = threading.Timer(0.3, destroy, (fd,))
    timer.start()
    p = select.poll()
    p.register(fd, select.POLLIN)
    assert p.poll(10_000) == [(fd, select.POLLERR)]
    timer.join()
    os.close(fd)


def test_14_poll_reports_pollin_only_with_data_and_never_pollout(emu) -> None:
    fd, _ = open_ept(emu)
    p = select.poll()
    p.register(fd, select.POLLIN | select.POLLOUT)
    assert p.poll(200) == []  # no POLLOUT on virtio before v7.0
    os.write(fd, b"ping")
    assert p.poll(5000) == [(fd, select.POLLIN)]
    assert select.select([], [fd], [], 0.1)[1] == []
    os.close(fd)


def test_15_unknown_ioctl_on_an_endpoint_is_einval(emu) -> None:
    fd, _ = open_ept(emu)
    assert errno_of(fcntl.ioctl, fd, 0xB5F0) == errno.EINVAL
    assert errno_of(fcntl.ioctl, fd, 0x5401, b"\0" * 60) == errno.EINVAL  # TCGETS: not ENOTTY
    os.close(fd)


def test_16_destroy_on_a_channel_eptdev_is_einval(emu) -> None:
    channel_dev = next(n for n, name in eptdevs(emu.root).items() if name == "rpmsg_chrdev")
    fd = os.open(emu.root / "dev" / channel_dev, os.O_RDWR)
    assert errno_of(destroy, fd) == errno.EINVAL
    os.close(fd)


def test_17_18_flow_control_ioctls_on_virtio(emu) -> None:
    fd, _ = open_ept(emu)
    assert struct.unpack("=i", fcntl.ioctl(fd, GET_OUTGOING_FLOWCONTROL, b"\xff" * 4)) == (0,)
    assert errno_of(fcntl.ioctl, fd, SET_INCOMING_FLOWCONTROL, 2) == errno.EINVAL
    assert errno_of(fcntl.ioctl, fd, SET_INCOMING_FLOWCONTROL, 1) == errno.EOPNOTSUPP
    os.close(fd)


def test_19_unknown_ctrl_ioctl_is_einval(emu) -> None:
    assert errno_of(ctrl_ioctl, emu.root, 0, 0x4028B5F0, "x", 1, 2) == errno.EINVAL


def test_20_create_ept_returns_zero_truncates_names_and_allows_duplicates(emu) -> None:
    assert ctrl_ioctl(emu.root, 0, CREATE_EPT, "dup", RPMSG_ADDR_ANY, 14) == 0
    assert ctrl_ioctl(emu.root, 0, CREATE_EPT, "dup", RPMSG_ADDR_ANY, 14) == 0
    long_name = "n" * 40
    assert ctrl_ioctl(emu.root, 0, CREATE_EPT, long_name, RPMSG_ADDR_ANY, 14) == 0
    names = list(eptdevs(emu.root).values())
    assert names.count("dup") == 2
    assert "n" * 31 in names
    # rpmsg0 and rpmsg1 are the channels' eptdevs; the new ones take the lowest free ids.
    assert sorted(eptdevs(emu.root)) == ["rpmsg0", "rpmsg1", "rpmsg2", "rpmsg3", "rpmsg4"]


def test_20_the_new_node_and_its_sysfs_exist_when_the_ioctl_returns(emu) -> None:
    ctrl_ioctl(emu.root, 0, CREATE_EPT, "at-once", RPMSG_ADDR_ANY, 14)
    sysdir = emu.root / "sys/class/rpmsg/rpmsg2"
    assert (sysdir / "name").read_text() == "at-once\n"
    assert (sysdir / "src").read_text() == "-1\n"
    assert (sysdir / "dst").read_text() == "14\n"
    assert os.readlink(sysdir / "device") == "../../rpmsg_ctrl0"
    assert (emu.root / "dev/rpmsg2").exists()


def test_21_create_dev_of_an_existing_channel_is_enxio_release_of_none_is_einval(emu) -> None:
    assert errno_of(ctrl_ioctl, emu.root, 0, CREATE_DEV, "rpmsg_chrdev", RPMSG_ADDR_ANY,
                    14) == errno.ENXIO
    assert errno_of(ctrl_ioctl, emu.root, 0, RELEASE_DEV, "no-such", RPMSG_ADDR_ANY,
                    RPMSG_ADDR_ANY) == errno.EINVAL


def test_create_dev_rpmsg_raw_makes_a_channel_with_an_eptdev_and_release_removes_it(emu
                                                                                   ) -> None:
    virtio = emu.root / "sys/bus/virtio/devices/virtio0"
    assert ctrl_ioctl(emu.root, 0, CREATE_DEV, "rpmsg-raw", 3000, 14) == 0
    channel = virtio / "virtio0.rpmsg-raw.3000.14"
    assert (channel / "announce").read_text() == "true\n"
    assert (channel / "src").read_text() == "0xbb8\n"
    node = os.listdir(channel / "rpmsg")[0]
    fd = os.open(emu.root / "dev" / node, os.O_RDWR)
    os.write(fd, b"raw")
    assert os.read(fd, 496) == b"raw"
    os.close(fd)
    assert ctrl_ioctl(emu.root, 0, RELEASE_DEV, "rpmsg-raw", RPMSG_ADDR_ANY,
                      RPMSG_ADDR_ANY) == 0
    assert not channel.exists()
    assert node not in os.listdir(emu.root / "dev")


def test_22_ctrl_read_and_write_are_einval_and_poll_is_ready(emu) -> None:
    fd = os.open(emu.root / "dev/rpmsg_ctrl0", os.O_RDWR)
    fd2 = os.open(emu.root / "dev/rpmsg_ctrl0", os.O_RDWR)  # no exclusivity
    assert errno_of(os.read, fd, 40) == errno.EINVAL
    assert errno_of(os.write, fd, b"x") == errno.EINVAL
    assert select.select([fd], [fd], [], 1) == ([fd], [fd], [])
    os.close(fd)
    os.close(fd2)


def test_23_closing_frees_the_address_for_the_next_open(emu) -> None:
    fd, node = open_ept(emu)
    src = int((emu.root / "sys/class/rpmsg" / node / "src").read_text())
    assert src >= 1024
    os.close(fd)
    other, node2 = open_ept(emu, "second")
    assert int((emu.root / "sys/class/rpmsg" / node2 / "src").read_text()) == src
    os.close(other)


@pytest.mark.board(firmware={9: "source"},
                  core={9: {"config": {"dst": 1024, "count": 3, "size": 8}}})
def test_24_channel_eptdev_queues_while_closed_and_close_purges(emu) -> None:
    # The source firmware streams to 1024, the channel's default endpoint, before anyone
    # has opened its eptdev.
    channel = emu.root / "sys/bus/rpmsg/devices/virtio0.rpmsg_chrdev.-1.14"
    assert (channel / "src").read_text() == "0x400\n"
    node = os.listdir(channel / "rpmsg")[0]
    deadline = time.monotonic() + 10
    fd = os.open(emu.root / "dev" / node, os.O_RDWR | os.O_NONBLOCK)
    got = []
    while len(got) < 3 and time.monotonic() < deadline:
        try:
            got.append(os.read(fd, 496))
        except BlockingIOError:
            time.sleep(0.05)
    assert [struct.unpack("<I", m[:4])[0] for m in got] == [0, 1, 2]
    os.close(fd)


def test_24_ctrl_endpoints_drop_messages_while_closed(emu) -> None:
    fd, node = open_ept(emu)
    os.write(fd, b"echo me")
    time.sleep(0.2)
    os.close(fd)  # the queued echo is purged with the endpoint
    fd = os.open(emu.root / "dev" / node, os.O_RDWR | os.O_NONBLOCK)
    assert errno_of(os.read, fd, 496) == errno.EAGAIN
    os.close(fd)


def test_27_an_id_held_by_an_open_fd_is_not_reused(emu) -> None:
    fd, node = open_ept(emu, "held")
    destroy(fd)  # node gone, but the fd still holds the device
    new = create_ept(emu.root, "fresh")
    assert new != node
    os.close(fd)
    assert create_ept(emu.root, "reuses") == node


@pytest.mark.board(kernel="mainline")
def test_25_mainline_leaves_eptdev_src_at_minus_one(emu) -> None:
    fd, node = open_ept(emu, dst=14)
    assert (emu.root / "sys/class/rpmsg" / node / "src").read_text() == "-1\n"
    os.close(fd)


def test_25_ti_kernel_shows_the_allocated_address_after_open(emu) -> None:
    node = create_ept(emu.root, "ti")
    src_file = emu.root / "sys/class/rpmsg" / node / "src"
    assert src_file.read_text() == "-1\n"
    fd = os.open(emu.root / "dev" / node, os.O_RDWR)
    assert int(src_file.read_text()) >= 1024
    os.close(fd)
    assert int(src_file.read_text()) >= 1024  # and keeps it after close


def test_26_channel_name_keeps_minus_one_while_src_shows_the_address(emu) -> None:
    channel = emu.root / "sys/bus/rpmsg/devices/virtio0.rpmsg_chrdev.-1.14"
    assert int((channel / "src").read_text(), 16) >= 1024
    assert (channel / "dst").read_text() == "0xe\n"
    assert (channel / "driver_override").read_text() == "(null)\n"
    assert (channel / "announce").read_text() == "false\n"
    assert (channel / "modalias").read_text() == "rpmsg:rpmsg_chrdev\n"
    assert os.readlink(channel / "driver").endswith("bus/rpmsg/drivers/rpmsg_chrdev")


def test_02_open_after_destroy_while_the_node_is_still_reachable_is_enetreset(emu) -> None:
    fd, _ = open_ept(emu)
    destroy(fd)
    # /proc/self/fd/N reopens the very inode, without a path lookup: the race window of
    # a stale node, which the kernel answers with ENETRESET (v6.3+).
    assert errno_of(os.open, f"/proc/self/fd/{fd}", os.O_RDWR) == errno.ENETRESET
    os.close(fd)


def test_18_19_bad_pointers_are_efault(emu) -> None:
    fd, _ = open_ept(emu)
    assert errno_of(fcntl.ioctl, fd, GET_OUTGOING_FLOWCONTROL, 1) == errno.EFAULT
    os.close(fd)
    ctrl = os.open(emu.root / "dev/rpmsg_ctrl0", os.O_RDWR)
    assert errno_of(fcntl.ioctl, ctrl, CREATE_EPT, 1) == errno.EFAULT
    os.close(ctrl)


def test_10_a_full_tx_ring_is_eagain_nonblocking_and_times_out_after_15_s_blocking(emu
                                                                                  ) -> None:
    # Crash the R5F with recovery disabled: its devices stay, but nobody returns TX buffers.
    node = create_ept(emu.root, "stuck", ctrl=1)
    fd = os.open(emu.root / "dev" / node, os.O_RDWR | os.O_NONBLOCK)
    crash = os.open(emu.root / "sys/kernel/debug/remoteproc/remoteproc1/crash", os.O_WRONLY)
    os.write(crash, b"1")  # RPROC_WATCHDOG
    os.close(crash)
    sent = 0
    with pytest.raises(BlockingIOError):
        while sent < 10_000:
            os.write(fd, b"m")
            sent += 1
    assert sent == 256  # every TX buffer of the Linux→remote vring
    os.set_blocking(fd, True)
    started = time.monotonic()
    # The kernel leaks errno 512 (ERESTARTSYS) here; FUSE cannot carry it: ETIMEDOUT.
    assert errno_of(os.write, fd, b"m") == errno.ETIMEDOUT
    # 15 s (rpmsg_send_offchannel_raw's wait_event_interruptible_timeout), not twice that:
    # the FUSE loop's wait for interrupt lines while trio sleeps must not delay trio's timers.
    assert 14.5 < time.monotonic() - started < 20
    os.close(fd)
