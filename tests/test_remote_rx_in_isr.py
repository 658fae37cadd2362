"""The core's RX pass runs in its mailbox ISR (remote_fw/device_transport.py, run_isr), and
while a firmware callback waits, a standby ISR takes the core's interrupts: a callback that
waits for Linux's RX buffers (which only a kick from Linux's ISR frees, virtio_rpmsg_bus.c
rpmsg_recv_done → virtqueue_kick) and a firmware main streaming to Linux while a callback
sleeps must both go on, as on the board, where the core's mailbox interrupt preempts its
receive task. Seen by a user: every message comes back, in order, nothing hangs.

Linux's RX ring holds 8 buffers here, so a burst of replies fills it many times over.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from emulator_thread import with_firmware
from rpmsg_ioctl import create_ept

NUM_BUFS = 8
PARTS = 3 * NUM_BUFS

FAN_OUT = f'''
"""Each message comes back {PARTS} times, from its callback: more than Linux's RX ring holds,
so the callback waits for Linux to repost buffers, while more messages come in."""


async def main(ctx):
    async def fan_out(ep, src, data):
        for part in range({PARTS}):
            await ep.send(src, data + b" part %d" % part)

    ctx.create_endpoint(40, fan_out)
'''

STREAM_WHILE_ASLEEP = f'''
"""A message to 41 makes main stream {4 * NUM_BUFS} messages back to its sender; a message to
42 keeps the receive pass in a callback for 5 s, then answers 'awake'."""


async def main(ctx):
    async def doze(ep, src, data):
        await ctx.sleep(5)
        await ep.send(src, b"awake")

    ctx.create_endpoint(42, doze)
    streamer = ctx.create_endpoint(41)
    src, _data = await streamer.recv()
    for n in range({4 * NUM_BUFS}):
        await streamer.send(src, b"stream %d" % n)
'''


def read_all(fd: int, count: int, out: list[bytes]) -> threading.Thread:
    """A reader thread, as a second thread of the user's program: `count` blocking reads."""
    def reader() -> None:
        for _ in range(count):
            out.append(os.read(fd, 512))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("timing", ["fast", "board"])
def test_a_callback_waiting_for_linux_buffers_while_more_messages_come_gets_them_all_back_in_order(
        tmp_path: Path, timing: str) -> None:
    emu = with_firmware(tmp_path, {9: "fan_out"}, {"fan_out": FAN_OUT}, timing=timing,
                        core={9: {"num_bufs": NUM_BUFS}})
    try:
        node = emu.root / "dev" / create_ept(emu.root, "fan", dst=40)
        fd = os.open(node, os.O_RDWR)
        sent = [b"msg %d" % n for n in range(10)]
        got: list[bytes] = []
        reader = read_all(fd, len(sent) * PARTS, got)
        for message in sent:  # back to back: they arrive while the first callback waits
            os.write(fd, message)
        reader.join(60)
        assert not reader.is_alive(), f"{len(got)} of {len(sent) * PARTS} replies came back"
        assert got == [m + b" part %d" % p for m in sent for p in range(PARTS)]
        os.close(fd)
    finally:
        emu.stop()


def test_main_streams_to_linux_while_a_callback_sleeps(tmp_path: Path) -> None:
    """Main's sends need Linux's RX buffers again and again (8 of them for 32 messages): the
    kicks that free them reach the core while its receive pass sleeps in a callback, so the
    whole stream has come when that callback answers."""
    emu = with_firmware(tmp_path, {9: "streamer"}, {"streamer": STREAM_WHILE_ASLEEP},
                        timing="fast", core={9: {"num_bufs": NUM_BUFS}})
    try:
        stream = os.open(emu.root / "dev" / create_ept(emu.root, "stream", dst=41), os.O_RDWR)
        doze = os.open(emu.root / "dev" / create_ept(emu.root, "doze", dst=42), os.O_RDWR)
        got: list[bytes] = []
        reader = read_all(stream, 4 * NUM_BUFS, got)
        os.write(stream, b"go")
        os.write(doze, b"sleep")
        assert os.read(doze, 512) == b"awake"  # blocks for the callback's 5 s
        streamed_meanwhile = len(got)
        reader.join(30)
        assert got == [b"stream %d" % n for n in range(4 * NUM_BUFS)]
        assert streamed_meanwhile == 4 * NUM_BUFS
        os.close(doze)
        os.close(stream)
    finally:
        emu.stop()


def test_a_plan_put_in_force_on_a_fast_core_acts_on_the_next_messages(tmp_path: Path) -> None:
    """In fast mode a message that no plan touches is only dispatched (core.py, _rx_pass); a
    plan written to debugfs while the core runs acts from the next message on, both ways."""
    emu = with_firmware(tmp_path, {9: "echo"}, {}, timing="fast")
    try:
        faults = emu.root / "sys/kernel/debug/rpmsg_emu/faults/remoteproc0"
        fd = os.open(emu.root / "dev" / create_ept(emu.root, "plans"), os.O_RDWR)
        os.write(fd, b"before")
        assert os.read(fd, 512) == b"before"
        faults.write_text("drop_rx=1")
        os.write(fd, b"lost on the way in")
        os.write(fd, b"one")
        assert os.read(fd, 512) == b"one"
        faults.write_text("drop_tx=1")
        os.write(fd, b"lost on the way out")
        os.write(fd, b"two")
        assert os.read(fd, 512) == b"two"
        faults.write_text("delay_us=2000")
        os.write(fd, b"late")
        assert os.read(fd, 512) == b"late"
        faults.write_text("clear")
        os.write(fd, b"after")
        assert os.read(fd, 512) == b"after"
        trace = (emu.root / "sys/kernel/debug/remoteproc/remoteproc0/trace0").read_text()
        injected = [line.split("injected fault: ")[1].split()[0]
                    for line in trace.splitlines() if "injected fault: " in line]
        assert injected == ["drop", "drop", "delay"]
        os.close(fd)
    finally:
        emu.stop()
