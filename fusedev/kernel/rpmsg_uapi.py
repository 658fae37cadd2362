"""include/uapi/linux/rpmsg.h: ioctl numbers and `struct rpmsg_endpoint_info`."""
from __future__ import annotations

import struct
from dataclasses import dataclass

RPMSG_ADDR_ANY = 0xFFFFFFFF
RPMSG_RESERVED_ADDRESSES = 1024
RPMSG_NS_ADDR = 53
RPMSG_NAME_SIZE = 32

RPMSG_CREATE_EPT_IOCTL = 0x4028B501
RPMSG_DESTROY_EPT_IOCTL = 0x0000B502
RPMSG_CREATE_DEV_IOCTL = 0x4028B503
RPMSG_RELEASE_DEV_IOCTL = 0x4028B504
RPMSG_GET_OUTGOING_FLOWCONTROL = 0x8004B505
RPMSG_SET_INCOMING_FLOWCONTROL = 0x8004B506

_ENDPOINT_INFO = struct.Struct("=32sII")
ENDPOINT_INFO_SIZE = _ENDPOINT_INFO.size  # 40


@dataclass(frozen=True)
class ChannelInfo:
    """`struct rpmsg_channel_info`: name (≤ 31 bytes), local and remote address.

    The kernel keeps the name as bytes. Here it is a str that holds bytes which are not UTF-8
    as surrogate escapes (`decode_name`), so every byte name stays a distinct name and reaches
    sysfs unchanged, as the vfs encodes entry names the same way (os.fsencode).
    """

    name: str
    src: int
    dst: int

    @classmethod
    def from_endpoint_info(cls, data: bytes) -> ChannelInfo:
        """Decode the ioctl argument; like the kernel, force name[31] to NUL."""
        raw, src, dst = _ENDPOINT_INFO.unpack(data[:ENDPOINT_INFO_SIZE].ljust(40, b"\0"))
        name = raw[:RPMSG_NAME_SIZE - 1].split(b"\0", 1)[0]
        return cls(decode_name(name), src, dst)


def decode_name(raw: bytes) -> str:
    """A channel name as bytes → str, losslessly (surrogateescape, as os.fsdecode)."""
    return raw.decode("utf-8", "surrogateescape")


def encode_name(name: str) -> bytes:
    """The bytes of a channel name, as the kernel holds them (inverse of `decode_name`)."""
    return name.encode("utf-8", "surrogateescape")


def as_signed(value: int) -> int:
    """An address as sysfs prints it with %d: 0xFFFFFFFF is -1."""
    return value - (1 << 32) if value & 0x80000000 else value
