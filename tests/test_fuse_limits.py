"""What FUSE makes impossible to reproduce exactly, pinned: what we do instead.

Each test names the kernel behaviour (reference §8 item) and asserts what a program sees here.
docs/conformance.md lists them with the reasons.
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import stat
import time

import pytest

from rpmsg_ioctl import create_ept


@pytest.fixture
def ept(emu):
    node = create_ept(emu.root, "limits")
    fd = os.open(emu.root / "dev" / node, os.O_RDWR)
    yield fd
    os.close(fd)


def test_device_nodes_are_regular_files(emu) -> None:
    st = os.stat(emu.root / "dev/rpmsg_ctrl0")
    assert stat.S_ISREG(st.st_mode)  # a board shows S_IFCHR
    assert oct(st.st_mode & 0o777) == oct(0o600)


def test_06_zero_length_read_does_not_consume_a_message(ept: int) -> None:
    os.write(ept, b"kept")
    time.sleep(0.1)
    assert os.read(ept, 0) == b""  # the kernel would drop the message here
    assert os.read(ept, 496) == b"kept"


def test_12_zero_length_write_sends_nothing(ept: int) -> None:
    assert os.write(ept, b"") == 0  # the kernel would send a header-only message
    os.set_blocking(ept, False)
    time.sleep(0.1)
    with pytest.raises(BlockingIOError):
        os.read(ept, 496)


def test_08_huge_writes_are_emsgsize_not_enomem(ept: int) -> None:
    with pytest.raises(OSError) as err:
        os.write(ept, b"x" * (5 << 20))
    assert err.value.errno == errno.EMSGSIZE


def test_22_epoll_on_the_ctrl_device_is_accepted(emu) -> None:
    fd = os.open(emu.root / "dev/rpmsg_ctrl0", os.O_RDWR)
    ep = select.epoll()
    ep.register(fd, select.EPOLLIN)  # the kernel says EPERM (no poll op)
    assert ep.poll(1) == [(fd, select.EPOLLIN)]
    ep.close()
    os.close(fd)
