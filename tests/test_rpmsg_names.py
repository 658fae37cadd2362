"""Channel and endpoint names as the kernel makes them (issue 11, item 8).

The device name of a channel is `dev_set_name("%s.%s.%d.%d")` (rpmsg_core.c
`rpmsg_register_device`), and `kobject_set_name_vargs` turns a `/` into `!`; the `name`
attribute keeps the bytes it was given, UTF-8 or not. A channel whose explicit `src` is taken
is still registered (CREATE_DEV returns 0), but its driver's probe fails (rpmsg_dev_probe:
no endpoint) and it stays unbound.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from emulator_thread import with_firmware
from rpmsg_ioctl import CREATE_DEV, CREATE_EPT, RELEASE_DEV, RPMSG_ADDR_ANY, ctrl_ioctl

RPMSG_BUS = "sys/bus/rpmsg/devices"


def listing(root: Path) -> list[bytes]:
    """What `ls /sys/bus/rpmsg/devices` shows, and every entry stats and resolves."""
    entries = os.listdir(os.fsencode(root / RPMSG_BUS))
    for entry in entries:
        path = os.fsencode(root / RPMSG_BUS) + b"/" + entry
        os.stat(path)
        assert os.path.isdir(os.path.realpath(path))
    return entries


def channel_named(root: Path, suffix: bytes) -> bytes:
    hits = [e for e in listing(root) if e.endswith(suffix)]
    assert len(hits) == 1, (suffix, listing(root))
    return hits[0]


def read_attr(root: Path, entry: bytes, attr: str) -> bytes:
    with open(os.fsencode(root / RPMSG_BUS) + b"/" + entry + b"/" + attr.encode(), "rb") as f:
        return f.read()


def eptdev_names(root: Path) -> dict[str, bytes]:
    cls = root / "sys/class/rpmsg"
    return {e: (cls / e / "name").read_bytes() for e in os.listdir(cls)
            if not e.startswith("rpmsg_ctrl")}


def test_a_slash_in_a_channel_name_becomes_bang_and_ls_keeps_working(emu) -> None:
    assert ctrl_ioctl(emu.root, 0, CREATE_DEV, "my/svc", RPMSG_ADDR_ANY, 1234) == 0
    entry = channel_named(emu.root, b".my!svc.-1.1234")
    ls = subprocess.run(["ls", "-l", str(emu.root / RPMSG_BUS)], capture_output=True)
    assert ls.returncode == 0 and ls.stderr == b""
    assert b".my!svc.-1.1234 -> " in ls.stdout
    assert read_attr(emu.root, entry, "name") == b"my/svc\n"
    assert read_attr(emu.root, entry, "modalias") == b"rpmsg:my/svc\n"
    assert ctrl_ioctl(emu.root, 0, RELEASE_DEV, "my/svc", RPMSG_ADDR_ANY, 1234) == 0
    assert not [e for e in listing(emu.root) if b"svc" in e]


def test_a_slash_in_an_endpoint_name_stays_in_its_name_attribute(emu) -> None:
    before = eptdev_names(emu.root)
    assert ctrl_ioctl(emu.root, 0, CREATE_EPT, "../../etc", RPMSG_ADDR_ANY, 14) == 0
    new = {k: v for k, v in eptdev_names(emu.root).items() if k not in before}
    assert list(new.values()) == [b"../../etc\n"]  # the device itself is rpmsgN
    (node,) = new
    fd = os.open(emu.root / "dev" / node, os.O_RDWR)
    os.write(fd, b"ping")
    assert os.read(fd, 496) == b"ping"
    os.close(fd)
    listing(emu.root)


def test_names_that_are_not_utf8_keep_their_bytes_and_stay_distinct(emu) -> None:
    before = eptdev_names(emu.root)
    for name in (b"caf\xe9", b"caf\xe8"):
        assert ctrl_ioctl(emu.root, 0, CREATE_EPT, name, RPMSG_ADDR_ANY, 14) == 0
    new = sorted(v for k, v in eptdev_names(emu.root).items() if k not in before)
    assert new == [b"caf\xe8\n", b"caf\xe9\n"]

    # Two channels whose names differ only in bytes that are not UTF-8: two devices.
    for name in (b"\xff\xfe", b"\xff\xfd"):
        assert ctrl_ioctl(emu.root, 0, CREATE_DEV, name, RPMSG_ADDR_ANY, 1234) == 0
    for name in (b"\xff\xfe", b"\xff\xfd"):
        entry = channel_named(emu.root, b"." + name + b".-1.1234")
        assert read_attr(emu.root, entry, "name") == name + b"\n"
        assert b"MODALIAS=rpmsg:" + name + b"\n" in read_attr(emu.root, entry, "uevent")
        bus = os.fsencode(emu.root / RPMSG_BUS)
        assert os.readlink(bus + b"/" + entry).endswith(b"/" + entry)
    assert ctrl_ioctl(emu.root, 0, RELEASE_DEV, b"\xff\xfe", RPMSG_ADDR_ANY, 1234) == 0
    assert not [e for e in listing(emu.root) if b"\xfe" in e]
    assert [e for e in listing(emu.root) if b"\xfd" in e]


def test_create_dev_with_an_explicit_src_in_use_registers_an_unbound_channel(emu) -> None:
    before = eptdev_names(emu.root)
    # An open eptdev holds address 2000.
    assert ctrl_ioctl(emu.root, 0, CREATE_EPT, "holder", 2000, 14) == 0
    (holder,) = [k for k in eptdev_names(emu.root) if k not in before]
    fd = os.open(emu.root / "dev" / holder, os.O_RDWR)
    # rpmsg_create_channel registers the device; rpmsg_chrdev's probe cannot get 2000
    # (idr_alloc → -ENOSPC, rpmsg_dev_probe → -ENOMEM), which fails the probe, not the ioctl.
    assert ctrl_ioctl(emu.root, 0, CREATE_DEV, "rpmsg-raw", 2000, 14) == 0
    entry = channel_named(emu.root, b".rpmsg-raw.2000.14")
    channel = os.fsencode(emu.root / RPMSG_BUS) + b"/" + entry
    assert not os.path.lexists(channel + b"/driver")  # unbound
    assert not os.path.exists(channel + b"/rpmsg")  # no eptdev under it
    assert read_attr(emu.root, entry, "src") == b"0x7d0\n"
    assert set(eptdev_names(emu.root)) == set(before) | {holder}
    os.write(fd, b"still mine")  # the holder keeps its address
    assert os.read(fd, 496) == b"still mine"
    os.close(fd)
    assert ctrl_ioctl(emu.root, 0, RELEASE_DEV, "rpmsg-raw", 2000, 14) == 0
    assert not os.path.exists(channel)


NS_SLASH = '''
"""Announces names the kernel must rename (a slash) or keep as bytes (not UTF-8)."""
import struct

NS = struct.Struct("<32sII")


async def main(ctx):
    ep = ctx.create_endpoint(100)
    await ep.send(53, NS.pack(b"fw/svc", 100, 0))
    await ep.send(53, NS.pack(b"fw\\xff", 101, 0))
    await ep.send(53, NS.pack(b"fw\\xfe", 102, 0))
    ctx.log("ns_names: announced")
'''


@pytest.fixture
def ns_names_root(tmp_path: Path):
    emu = with_firmware(tmp_path, {9: "ns_names"}, {"ns_names": NS_SLASH})
    yield emu.root
    emu.stop()


def test_announced_names_are_renamed_and_kept_as_the_kernel_does(ns_names_root: Path) -> None:
    wanted = (b".fw!svc.-1.100", b".fw\xff.-1.101", b".fw\xfe.-1.102")
    deadline = time.monotonic() + 10
    while not all(any(e.endswith(w) for e in listing(ns_names_root)) for w in wanted):
        assert time.monotonic() < deadline, listing(ns_names_root)
        time.sleep(0.05)
    names = [read_attr(ns_names_root, channel_named(ns_names_root, w), "name") for w in wanted]
    assert names == [b"fw/svc\n", b"fw\xff\n", b"fw\xfe\n"]

