"""What the rings must still get right now that they are C (remote_fw/vring_build.py), seen by
a user of the device: a writer held back by a full TX ring and released when the core returns
buffers (virtio_rpmsg_bus.c rpmsg_send_offchannel_raw: get_a_tx_buf, else EAGAIN when
non-blocking, else sleep on sendq until rpmsg_xmit_done), every message through, in order, and
the trace pipe seeing each one both ways."""
from __future__ import annotations

import json
import os
import threading
import time

import pytest

from rpmsg_ioctl import create_ept

NUM_BUFS = 8


def trace_messages(fd: int, want: int) -> list[dict]:
    """The message lines of the trace pipe (a non-blocking fd), until `want` of them came."""
    records: list[dict] = []
    pending = b""
    deadline = time.monotonic() + 10
    while len(records) < want and time.monotonic() < deadline:
        try:
            pending += os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        *lines, pending = pending.split(b"\n")
        records += [r for r in map(json.loads, lines) if r["kind"] == "message" and r["dst"] != 53]
    return records


@pytest.mark.board(firmware={9: "echo", 15: "echo"},
                   core={9: {"num_bufs": NUM_BUFS, "faults": {"stall": True}}})
def test_a_full_tx_ring_holds_writers_back_and_every_message_is_echoed_and_traced(emu) -> None:
    trace = os.open(emu.root / "sys/kernel/debug/rpmsg_emu/trace_pipe", os.O_RDONLY | os.O_NONBLOCK)
    node = emu.root / "dev" / create_ept(emu.root, "app", ctrl=0)
    fd = os.open(node, os.O_RDWR | os.O_NONBLOCK)
    sent = []
    with pytest.raises(BlockingIOError):  # the stalled core takes nothing
        while len(sent) < 100:
            os.write(fd, b"msg %d" % len(sent))
            sent.append(b"msg %d" % len(sent))
    assert len(sent) == NUM_BUFS  # every TX buffer is in the ring, none was lost
    os.set_blocking(fd, True)

    def blocked_writer() -> None:
        for n in range(NUM_BUFS, 5 * NUM_BUFS):  # four more rings' worth, each write waits
            os.write(fd, b"msg %d" % n)

    writer = threading.Thread(target=blocked_writer)
    writer.start()
    writer.join(0.2)
    assert writer.is_alive()  # held back by the full ring, not failed
    (emu.root / "sys/kernel/debug/rpmsg_emu/faults/remoteproc0").write_text("clear")
    writer.join(20)
    assert not writer.is_alive()
    sent += [b"msg %d" % n for n in range(NUM_BUFS, 5 * NUM_BUFS)]
    echoed = [os.read(fd, 512) for _ in sent]
    assert echoed == sent  # through both rings many times round, in order

    records = trace_messages(trace, 2 * len(sent))
    tx = [bytes.fromhex(r["data"]) for r in records if r["dir"] == "tx"]
    rx = [bytes.fromhex(r["data"]) for r in records if r["dir"] == "rx"]
    assert tx == sent and rx == sent
    os.close(fd)
    os.close(trace)
