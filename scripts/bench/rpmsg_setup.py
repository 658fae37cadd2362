"""Device setup for emulator targets, done as a C program on a board would do it.

CREATE_EPT on `ROOT/dev/rpmsg_ctrlC`, then the new `rpmsgN` is found by its `name` in
`ROOT/sys/class/rpmsg`. Only entries that appeared with the ioctl are read, so creating the
thousandth endpoint costs one directory listing, not a thousand `name` reads.
"""
from __future__ import annotations

import fcntl
import os
import struct
from pathlib import Path

RPMSG_ADDR_ANY = 0xFFFFFFFF
RPMSG_CREATE_EPT_IOCTL = 0x4028B501
ECHO_ADDR = 14  # rpmsg_chrdev endpoint of TI's echo firmware (and of sink/source by default)


def _eptdevs(root: Path) -> set[str]:
    return {e for e in os.listdir(root / "sys/class/rpmsg") if not e.startswith("rpmsg_ctrl")}


class EndpointMaker:
    """Creates endpoints on one control device and returns their device paths."""

    def __init__(self, root: Path, ctrl: int = 0) -> None:
        self.root = root
        self.ctrl = ctrl
        self.known = _eptdevs(root)

    def create(self, name: str, dst: int = ECHO_ADDR) -> str:
        """CREATE_EPT name/ANY/dst; returns `ROOT/dev/rpmsgN` of the new eptdev."""
        info = bytearray(struct.pack("=32sII", name.encode()[:31], RPMSG_ADDR_ANY, dst))
        fd = os.open(self.root / f"dev/rpmsg_ctrl{self.ctrl}", os.O_RDWR)
        try:
            fcntl.ioctl(fd, RPMSG_CREATE_EPT_IOCTL, info, True)
        finally:
            os.close(fd)
        now = _eptdevs(self.root)
        new = now - self.known
        self.known = now
        cls = self.root / "sys/class/rpmsg"
        found = [e for e in new if (cls / e / "name").read_text().rstrip("\n") == name[:31]]
        if len(found) != 1:
            raise RuntimeError(f"CREATE_EPT {name!r} on rpmsg_ctrl{self.ctrl} made {found}")
        return str(self.root / "dev" / found[0])


def create_endpoint(root: Path, name: str = "bench", dst: int = ECHO_ADDR, ctrl: int = 0) -> str:
    """One endpoint to `dst` on rpmsg_ctrl`ctrl`: the device hook of emulator targets."""
    return EndpointMaker(root, ctrl).create(name, dst)
