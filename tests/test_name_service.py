"""Name-service announcements from a user's own firmware (loaded from the board's firmware
directory) become, and stop being, rpmsg channels exactly as rpmsg_ns.c makes them (§8.32).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from emulator_thread import with_firmware

NS_PROBE = '''
"""Announces odd things to Linux's name service, then echoes on an rpmsg-raw channel."""
import struct

NS = struct.Struct("<32sII")


async def main(ctx):
    dup = ctx.create_endpoint(100)
    await dup.announce("dup-svc")
    await dup.announce("dup-svc")                            # a duplicate: ignored
    await dup.send(53, NS.pack(b"short", 100, 0)[:39])       # not 40 bytes: ignored
    await dup.send(53, NS.pack(b"n" * 32, 101, 0))           # name[31] forced to NUL
    gone = ctx.create_endpoint(102)
    await gone.announce("gone-svc")
    await gone.withdraw("gone-svc")                          # flag bit 0: destroy

    async def reply(ep, src, data):
        await ep.send(src, b"")                              # an empty message first
        await ep.send(src, data)

    raw = ctx.create_endpoint(103, callback=reply)
    await raw.announce("rpmsg-raw")
    ctx.log("ns_probe: announced")
'''


@pytest.fixture
def probe_board(tmp_path: Path):
    emu = with_firmware(tmp_path, {9: "ns_probe"}, {"ns_probe": NS_PROBE})
    yield emu.root
    emu.stop()


def channels(root: Path) -> list[str]:
    return sorted(os.listdir(root / "sys/bus/rpmsg/devices"))


def wait_for_channel(root: Path, name: str) -> Path:
    deadline = time.monotonic() + 10
    while name not in channels(root):
        assert time.monotonic() < deadline, f"{name} never appeared: {channels(root)}"
        time.sleep(0.02)
    return root / "sys/bus/rpmsg/devices" / name


def test_announcements_make_channels_once_and_withdrawals_remove_them(probe_board: Path
                                                                        ) -> None:
    wait_for_channel(probe_board, "virtio0.rpmsg-raw.-1.103")  # the last announcement
    names = channels(probe_board)
    assert names.count("virtio0.dup-svc.-1.100") == 1
    assert f"virtio0.{'n' * 31}.-1.101" in names
    assert not any("gone-svc" in n for n in names)
    assert not any("short" in n for n in names)
    dup = probe_board / "sys/bus/rpmsg/devices/virtio0.dup-svc.-1.100"
    assert (dup / "src").read_text() == "0xffffffff\n"  # no driver bound: no endpoint
    assert not (dup / "rpmsg").exists()


def test_an_empty_message_reads_as_zero_bytes(probe_board: Path) -> None:
    channel = wait_for_channel(probe_board, "virtio0.rpmsg-raw.-1.103")
    node = os.listdir(channel / "rpmsg")[0]
    fd = os.open(probe_board / "dev" / node, os.O_RDWR)
    os.write(fd, b"after the empty one")
    assert os.read(fd, 496) == b""  # §8.7: looks like EOF, but the next read goes on
    assert os.read(fd, 496) == b"after the empty one"
    os.close(fd)
