"""The C ring code (remote_fw/vring_build.py) writes exactly the virtio layout: checked byte for
byte with struct, the way a debugger or a foreign driver on the board would read the carve-out
(include/uapi/linux/virtio_ring.h: struct vring_desc, vring_avail, vring_used, vring_init;
drivers/rpmsg/virtio_rpmsg_bus.c: struct rpmsg_hdr). And the other way round: a ring written
by hand, byte for byte, is what the C code reads."""

import logging
import struct

from remote_fw import Mailbox, SharedMemory
from remote_fw.device_transport import DeviceTransport
from remote_fw.host_transport import HostTransport
from remote_fw.vring import VRING_DESC_F_WRITE, Vring, need_event, new_index, vring_size

NUM = 8
BUF = 64


def make_link():
    shm = SharedMemory(NUM, BUF)
    to_remote, to_host = Mailbox("rx"), Mailbox("tx")
    return shm, HostTransport(shm, to_remote, to_host), DeviceTransport(shm, to_remote, to_host)


def ring_offsets(start: int, num: int = NUM) -> dict[str, int]:
    """vring_init(): desc at 0, avail after num descriptors, used at the next 4096 boundary."""
    avail = start + 16 * num
    used = start + ((16 * num + 2 * (2 + num) + 2 + 4095) & ~4095)
    return {"desc": start, "avail": avail, "used_event": avail + 4 + 2 * num,
            "used": used, "avail_event": used + 4 + 8 * num}


def u16(mem, off):
    return struct.unpack_from("<H", mem, off)[0]


def test_a_send_from_linux_is_header_descriptor_and_avail_entry_in_the_virtio_layout():
    shm, host, _device = make_link()
    tx = ring_offsets(align_up(vring_size(NUM)))
    assert host.send(0x400, 0x35, b"ping")
    addr = shm.buffer_addr(NUM)  # the first TX buffer
    # struct vring_desc {__virtio64 addr; __virtio32 len; __virtio16 flags; __virtio16 next;}
    assert shm.mem[tx["desc"]:tx["desc"] + 16] == struct.pack("<QIHH", addr, 16 + 4, 0, 0)
    # struct vring_avail {flags; idx; ring[]}: idx 1, ring[0] = descriptor 0
    assert shm.mem[tx["avail"]:tx["avail"] + 6] == struct.pack("<HHH", 0, 1, 0)
    # struct rpmsg_hdr {src; dst; reserved; len; flags} __packed, then the payload
    off = addr - shm.base
    assert shm.mem[off:off + 20] == struct.pack("<IIIHH", 0x400, 0x35, 0, 4, 0) + b"ping"
    # Linux wants no TX-done interrupt until a writer waits: used_event 0xffff
    assert u16(shm.mem, tx["used_event"]) == 0xFFFF


def test_a_reply_from_the_core_is_a_used_element_in_a_buffer_linux_posted():
    shm, _host, device = make_link()
    rx = ring_offsets(0)
    # Linux posted its NUM receive buffers at setup: device-writable, in order.
    for i in range(NUM):
        desc = struct.unpack_from("<QIHH", shm.mem, rx["desc"] + 16 * i)
        assert desc == (shm.buffer_addr(i), BUF, VRING_DESC_F_WRITE, 0)
    assert u16(shm.mem, rx["avail"] + 2) == NUM
    assert device.try_send(0x35, 0x400, b"pong!")
    # struct vring_used {flags; idx; struct vring_used_elem {__virtio32 id; __virtio32 len;} ring[]}
    assert shm.mem[rx["used"]:rx["used"] + 12] == struct.pack("<HHII", 0, 1, 0, 16 + 5)
    off = shm.buffer_addr(0) - shm.base
    assert shm.mem[off:off + 21] == struct.pack("<IIIHH", 0x35, 0x400, 0, 5, 0) + b"pong!"


def test_a_ring_written_by_hand_is_read_by_the_c_code_across_the_u16_wrap():
    mem = bytearray(2 * 4096 + NUM * BUF)
    base, pool = 0x9000_0000, 2 * 4096
    ring = Vring(mem, 0, NUM, base=base, pool_offset=pool, max_payload=BUF)
    off = ring_offsets(0)
    struct.pack_into("<H", mem, off["avail"] + 2, 0xFFFE)  # both indices just before the wrap
    struct.pack_into("<H", mem, off["used"] + 2, 0xFFFE)
    for n, idx in enumerate((0xFFFE, 0xFFFF, 0x0000)):
        buf = pool + n * BUF
        struct.pack_into("<IIIHH", mem, buf, 100 + n, 200, 0, 3, 0)
        mem[buf + 16:buf + 19] = b"m%d!" % n
        struct.pack_into("<QIHH", mem, off["desc"] + 16 * (7 - n), base + buf, BUF, 0, 0)
        struct.pack_into("<H", mem, off["avail"] + 4 + 2 * (idx % NUM), 7 - n)
    struct.pack_into("<H", mem, off["avail"] + 2, 0x0001)
    last = new_index(0xFFFE)
    messages, notify = ring.take_avail(last, ring.avail_idx())
    assert messages == [(100, 200, b"m0!"), (101, 200, b"m1!"), (102, 200, b"m2!")]
    assert last[0] == 0x0001 and u16(mem, off["used"] + 2) == 0x0001
    # used elements landed in slots 0xfffe % 8, 0xffff % 8, 0 with each descriptor's length
    slots = [struct.unpack_from("<II", mem, off["used"] + 4 + 8 * (i % NUM)) for i in (0xFFFE, 0xFFFF, 0)]
    assert slots == [(7, BUF), (6, BUF), (5, BUF)]
    assert notify  # used_event 0 (Linux's "tell me after used idx 0") was passed going 0 -> 1
    assert need_event(0, 1, 0) and not need_event(5, 1, 0)


def test_event_indices_sit_where_virtio_puts_them_and_suppress_kicks():
    shm, host, device = make_link()
    tx = ring_offsets(align_up(vring_size(NUM)))
    # The core asks to be kicked once Linux's avail idx passes 2 (vring_avail_event()).
    device._inbound.avail_event = 2
    assert u16(shm.mem, tx["avail_event"]) == 2
    kicks = []
    host._kicks.kick = kicks.append
    for n in range(4):
        assert host.send(1, 2, b"%d" % n)
    assert kicks == [1]  # idx 2 -> 3 crossed the event: one kick for the burst, on vring 1
    host._tx.used_event = 0x1234
    assert u16(shm.mem, tx["used_event"]) == 0x1234


def test_a_descriptor_outside_the_pool_or_a_lying_header_is_dropped_and_returned(caplog):
    shm, host, device = make_link()
    tx = ring_offsets(align_up(vring_size(NUM)))
    assert host.send(1, 2, b"good")
    assert host.send(1, 2, b"stray")
    assert host.send(1, 2, b"liar")
    struct.pack_into("<Q", shm.mem, tx["desc"] + 16, 0x1000)  # points at no buffer
    liar = shm.buffer_addr(NUM + 2) - shm.base
    struct.pack_into("<H", shm.mem, liar + 12, 400)  # header len beyond the descriptor
    with caplog.at_level(logging.WARNING, logger="remote_fw.vring"):
        assert device.take_received() == [(1, 2, b"good")]
    assert sum("dropping malformed buffer" in r.message for r in caplog.records) == 2
    assert u16(shm.mem, tx["used"] + 2) == 3  # all three buffers went back to Linux


def align_up(n: int) -> int:
    return (n + 4095) & ~4095


def test_a_firmware_may_send_a_bytearray_or_a_view():
    shm, _host, device = make_link()
    assert device.try_send(0x35, 0x400, bytearray(b"abc"))
    assert device.try_send(0x35, 0x400, memoryview(b"xyzw")[1:])
    offs = [shm.buffer_addr(i) - shm.base for i in (0, 1)]
    assert [bytes(shm.mem[o + 16:o + 19]) for o in offs] == [b"abc", b"yzw"]
