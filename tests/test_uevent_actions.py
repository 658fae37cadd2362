"""`uevent` stores accept only the kernel's actions (issue 11 item 7).

`udevadm trigger` writes `change` (or `add`, optionally with a UUID and KEY=VALUE arguments)
to every device's `uevent`; lib/kobject_uevent.c `kobject_synth_uevent` takes the actions of
`kobject_action_type` (add, remove, change, move, online, offline, bind, unbind) after
dropping one trailing newline or NUL, and answers EINVAL for anything else. The same holds for
the `uevent` of drivers, buses and modules.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

UUID = b"0ad0b5b4-1f36-4c1e-9d39-3b0d2c6a7e15"
ACCEPTED = [b"add", b"remove", b"change\n", b"move", b"online", b"offline", b"bind\0",
            b"unbind", b"add " + UUID, b"change " + UUID + b" SOURCE=test STEP=2\n"]
REFUSED = [b"\n", b"bogus", b"Change", b"chang", b"change\n\n", b"add ", b"add \n",
           b"add not-a-uuid", b"add " + UUID + b" KEY", b"add " + UUID + b" KEY=",
           b"add " + UUID + b" K-Y=1", b"add " + UUID + b"  K=1"]


def write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def uevent_files(root: Path) -> list[Path]:
    sys_ = root / "sys"
    return [sys_ / "class/rpmsg/rpmsg_ctrl0/uevent",
            sys_ / "devices/platform/bus@f0000/uevent",
            sys_ / "devices/platform/uevent",
            sys_ / "bus/rpmsg/drivers/rpmsg_chrdev/uevent",
            sys_ / "bus/rpmsg/uevent",
            sys_ / "module/rpmsg_char/uevent"]


@pytest.mark.parametrize("data", ACCEPTED, ids=repr)
def test_the_kernels_actions_are_accepted(emu, data):
    for path in uevent_files(emu.root):
        write(path, data)


@pytest.mark.parametrize("data", REFUSED, ids=repr)
def test_anything_else_is_einval(emu, data):
    for path in uevent_files(emu.root):
        with pytest.raises(OSError) as info:
            write(path, data)
        assert info.value.errno == errno.EINVAL, path


def test_a_refused_write_changes_nothing_and_logs_no_traceback(emu, caplog):
    ctrl = emu.root / "sys/class/rpmsg/rpmsg_ctrl0/uevent"
    before = ctrl.read_text()
    with pytest.raises(OSError):
        write(ctrl, b"\xff\xfe")
    assert ctrl.read_text() == before
    assert "Traceback" not in caplog.text
