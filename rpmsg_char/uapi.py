"""The rpmsg user-space ABI of <linux/rpmsg.h>: ioctl numbers, `struct rpmsg_endpoint_info`, limits.

Numbers are computed with the asm-generic `_IOC` encoding (x86_64, arm64 and 32-bit ARM alike)
rather than copied, so a test can check them against the kernel's macros.
"""

import struct

_IOC_NONE = 0
_IOC_WRITE = 1
_IOC_READ = 2


def _ioc(direction: int, type_: int, nr: int, size: int) -> int:
    """Linux `_IOC(dir, type, nr, size)`: dir<<30 | size<<16 | type<<8 | nr."""
    return (direction << 30) | (size << 16) | (type_ << 8) | nr


RPMSG_IOC_MAGIC = 0xB5

ENDPOINT_INFO = struct.Struct("=32sII")
"""`struct rpmsg_endpoint_info { char name[32]; __u32 src; __u32 dst; }`: native byte order, no padding."""

RPMSG_CREATE_EPT_IOCTL = _ioc(_IOC_WRITE, RPMSG_IOC_MAGIC, 1, ENDPOINT_INFO.size)
RPMSG_DESTROY_EPT_IOCTL = _ioc(_IOC_NONE, RPMSG_IOC_MAGIC, 2, 0)

RPMSG_ADDR_ANY = 0xFFFFFFFF
"""Local address "let the kernel pick"; never valid as a remote address."""
RPMSG_RESERVED_ADDRESSES = 1024
"""Explicit local addresses below this are reserved by the rpmsg bus."""
RPMSG_NAME_SIZE = 32
"""Size of `name` including its NUL, so a name holds at most 31 bytes."""
RPMSG_MAX_PAYLOAD = 496
"""512-byte virtio buffer minus the 16-byte rpmsg header: the largest message one write can carry."""


def pack_endpoint_info(name: bytes, src: int, dst: int) -> bytes:
    """Build the 40-byte CREATE_EPT argument; `name` must leave room for its NUL."""
    if len(name) >= RPMSG_NAME_SIZE:
        raise ValueError(f"endpoint name {name!r} is {len(name)} bytes; at most {RPMSG_NAME_SIZE - 1} fit")
    if b"\0" in name:
        raise ValueError(f"endpoint name {name!r} contains a NUL byte")
    return ENDPOINT_INFO.pack(name, src, dst)
