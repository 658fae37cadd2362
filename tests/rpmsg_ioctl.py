"""Raw rpmsg uapi calls, as a C program makes them: ioctls on the ctrl and endpoint nodes."""
from __future__ import annotations

import fcntl
import os
import struct
from pathlib import Path

RPMSG_ADDR_ANY = 0xFFFFFFFF
CREATE_EPT = 0x4028B501
DESTROY_EPT = 0xB502
CREATE_DEV = 0x4028B503
RELEASE_DEV = 0x4028B504
GET_OUTGOING_FLOWCONTROL = 0x8004B505
SET_INCOMING_FLOWCONTROL = 0x8004B506


def endpoint_info(name: str | bytes, src: int, dst: int) -> bytes:
    raw = name.encode() if isinstance(name, str) else name
    return struct.pack("=32sII", raw[:32], src, dst)


def ctrl_ioctl(root: Path, ctrl: int, cmd: int, name: str | bytes, src: int, dst: int) -> int:
    fd = os.open(root / f"dev/rpmsg_ctrl{ctrl}", os.O_RDWR)
    try:
        # A mutable buffer makes fcntl.ioctl return the syscall's result value.
        return fcntl.ioctl(fd, cmd, bytearray(endpoint_info(name, src, dst)), True)
    finally:
        os.close(fd)


def eptdevs(root: Path) -> dict[str, str]:
    """rpmsgN → its `name`, from /sys/class/rpmsg."""
    cls = root / "sys/class/rpmsg"
    return {e: (cls / e / "name").read_text().rstrip("\n")
            for e in sorted(os.listdir(cls)) if not e.startswith("rpmsg_ctrl")}


def create_ept(root: Path, name: str, dst: int = 14, src: int = RPMSG_ADDR_ANY,
               ctrl: int = 0) -> str:
    """CREATE_EPT, then find the new node by name as TI's library does; returns 'rpmsgN'."""
    before = set(eptdevs(root))
    ctrl_ioctl(root, ctrl, CREATE_EPT, name, src, dst)
    new = [n for n, v in eptdevs(root).items() if n not in before and v == name[:31]]
    assert len(new) == 1, f"CREATE_EPT made {new}"
    return new[0]


def destroy(fd: int) -> None:
    fcntl.ioctl(fd, DESTROY_EPT)
