"""The rpmsg uapi as rpmsg_char sends it: ioctl numbers and the 40-byte endpoint-info struct."""

import struct
import sys

import pytest

from rpmsg_char import RPMSG_ADDR_ANY, RPMSG_MAX_PAYLOAD
from rpmsg_char.uapi import (ENDPOINT_INFO, RPMSG_CREATE_EPT_IOCTL, RPMSG_DESTROY_EPT_IOCTL, RPMSG_NAME_SIZE,
                             pack_endpoint_info)


def test_ioctl_numbers_match_linux_rpmsg_h():
    assert RPMSG_CREATE_EPT_IOCTL == 0x4028B501  # _IOW(0xb5, 1, struct rpmsg_endpoint_info)
    assert RPMSG_DESTROY_EPT_IOCTL == 0xB502  # _IO(0xb5, 2)


def test_create_ioctl_encodes_the_struct_size_for_fuse_restricted_ioctls():
    assert (RPMSG_CREATE_EPT_IOCTL >> 16) & 0x3FFF == ENDPOINT_INFO.size == 40
    assert RPMSG_CREATE_EPT_IOCTL >> 30 == 1  # _IOC_WRITE: user space → kernel


def test_endpoint_info_layout_is_name_then_native_src_and_dst():
    raw = pack_endpoint_info(b"rpmsg-char-9-4242", RPMSG_ADDR_ANY, 14)
    assert len(raw) == 40
    assert raw[:32] == b"rpmsg-char-9-4242".ljust(32, b"\0")
    assert int.from_bytes(raw[32:36], sys.byteorder) == 0xFFFFFFFF
    assert int.from_bytes(raw[36:40], sys.byteorder) == 14
    assert struct.unpack("@32sII", raw) == (b"rpmsg-char-9-4242".ljust(32, b"\0"), RPMSG_ADDR_ANY, 14)


def test_name_must_leave_room_for_its_nul():
    assert pack_endpoint_info(b"n" * (RPMSG_NAME_SIZE - 1), 1024, 14)[31] == 0
    with pytest.raises(ValueError, match="at most 31 fit"):
        pack_endpoint_info(b"n" * RPMSG_NAME_SIZE, 1024, 14)
    with pytest.raises(ValueError, match="NUL"):
        pack_endpoint_info(b"a\0b", 1024, 14)


def test_limits():
    assert RPMSG_ADDR_ANY == 0xFFFFFFFF
    assert RPMSG_MAX_PAYLOAD == 512 - 16
