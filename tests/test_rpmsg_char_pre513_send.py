"""Where an eptdev write goes on the pre-6.1 profile (TI SDK 8.x, Linux 5.10) (issue 11, item 9).

Before v5.13, drivers/rpmsg/rpmsg_char.c `rpmsg_eptdev_write_iter` called
`rpmsg_send(eptdev->ept)`/`rpmsg_trysend`, and virtio_rpmsg_bus.c `virtio_rpmsg_send` sends to
`rpdev->dst`: the destination of the `rpmsg_chrdev` channel the control device hangs on (the
echo firmware's address 14), whatever `dst` the endpoint was created with. From v5.13 the
eptdev's own dst is used (`rpmsg_sendto(eptdev->chinfo.dst)`), so ANY is EINVAL there.
"""
from __future__ import annotations

import errno
import os
import select

import pytest

from rpmsg_ioctl import RPMSG_ADDR_ANY, create_ept


def open_ept(root, dst: int) -> int:
    node = create_ept(root, "pre513", dst=dst)
    assert (root / "sys/class/rpmsg" / node / "dst").read_text() == \
        f"{dst - (1 << 32) if dst & 0x80000000 else dst}\n"  # chinfo.dst is kept as given
    return os.open(root / "dev" / node, os.O_RDWR)


def answered(fd: int, timeout: float) -> bytes | None:
    if not select.select([fd], [], [], timeout)[0]:
        return None
    return os.read(fd, 496)


@pytest.mark.board(kernel="pre-6.1")
@pytest.mark.parametrize("dst", [RPMSG_ADDR_ANY, 999], ids=["any", "other"])
def test_pre_5_13_writes_go_to_the_channel_destination(emu, dst: int) -> None:
    fd = open_ept(emu.root, dst)
    assert os.write(fd, b"to the channel") == len(b"to the channel")
    assert answered(fd, 10) == b"to the channel"  # the echo firmware at 14 got it
    os.close(fd)


@pytest.mark.board(kernel="ti-6.x")
def test_from_5_13_writes_go_to_the_eptdev_destination(emu) -> None:
    fd = open_ept(emu.root, RPMSG_ADDR_ANY)
    with pytest.raises(OSError) as err:
        os.write(fd, b"nowhere")
    assert err.value.errno == errno.EINVAL
    os.close(fd)
    fd = open_ept(emu.root, 999)
    os.write(fd, b"to 999")  # nobody listens at 999 on the remote: no echo
    assert answered(fd, 1.0) is None
    os.close(fd)
