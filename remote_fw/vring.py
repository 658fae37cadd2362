"""A split virtqueue laid out in shared memory exactly as virtio specifies (legacy layout):

    descriptor table   num × {addr u64, len u32, flags u16, next u16}
    available ring     flags u16, idx u16, ring[num] u16, used_event u16
    (pad to VRING_ALIGN)
    used ring          flags u16, idx u16, ring[num] × {id u32, len u32}, avail_event u16

The driver (Linux) writes descriptors and the available ring; the device (remote core) writes
the used ring. Both sides use VIRTIO_RING_F_EVENT_IDX notification suppression (used_event /
avail_event) so that one kick covers a burst, which keeps the mailbox quiet under load.
Indices are free-running u16 counters; ring slots are idx mod num.

The ring operations and the rpmsg header are C (remote_fw/vring_build.py, one implementation
for both CPUs); this class holds the ring's place in memory, turns the C status codes into
Python results and errors, and draws the ring dump.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from ._vring_cffi import ffi, lib

log = logging.getLogger(__name__)

VRING_DESC_F_NEXT = 1
VRING_DESC_F_WRITE = 2
VRING_DESC_F_INDIRECT = 4
_DESC_FLAG_NAMES = ((VRING_DESC_F_NEXT, "NEXT"), (VRING_DESC_F_WRITE, "WRITE"), (VRING_DESC_F_INDIRECT, "INDIRECT"))
VRING_ALIGN = 4096

_OK, _KICK, _EFAULT, _EMSGSIZE = lib.RPMSG_OK, lib.RPMSG_KICK, lib.RPMSG_EFAULT, lib.RPMSG_EMSGSIZE

Receiver = Callable[[int, int, bytes], None]


def align(value: int, alignment: int) -> int:
    return (value + alignment - 1) & ~(alignment - 1)


def vring_size(num: int, alignment: int = VRING_ALIGN) -> int:
    """Bytes a vring of `num` entries occupies (virtio's vring_size())."""
    return align(16 * num + 6 + 2 * num, alignment) + 6 + 8 * num


def need_event(event: int, new: int, old: int) -> bool:
    """virtio's vring_need_event(): notify when idx moved past `event` going old → new."""
    return bool(lib.vring_need_event(event & 0xFFFF, new & 0xFFFF, old & 0xFFFF))


def new_index(value: int = 0) -> Any:
    """A side's private u16 shadow index (last_avail / last_used), advanced by the C calls;
    read and set it as `index[0]`."""
    return ffi.new("uint16_t *", value)


class Vring:
    """One split virtqueue inside a shared bytearray, read and written in place.

    `base` is the device address of mem[0] and `pool_offset` where the buffer pool starts:
    descriptors hold device addresses, and one pointing outside the pool is refused. Each side
    uses its own calls (Linux: post, recv_used; the core: fill, take_avail), so the scratch
    buffer a call copies a payload through is only ever touched by one thread.
    """

    def __init__(self, mem: bytearray, offset: int, num: int, alignment: int = VRING_ALIGN,
                 base: int = 0, pool_offset: int = 0, max_payload: int = 4096) -> None:
        if num <= 0 or num & (num - 1) or num > 32768:
            raise ValueError(f"vring size {num} must be a power of two up to 32768")
        self.mem = mem
        self.num = num
        self.offset = offset
        self.size = vring_size(num, alignment)
        self._buf = ffi.from_buffer("uint8_t[]", mem, require_writable=True)  # keeps mem pinned
        self._vr = ffi.new("struct vring_c *")
        if lib.vring_init(self._vr, self._buf, len(mem), offset, num, alignment, base, pool_offset):
            raise ValueError(f"vring of {num} at {offset} does not fit {len(mem)} bytes")
        self._msg = ffi.new("struct rpmsg_msg *")
        self._cap = max_payload
        self._scratch = ffi.new("char[]", max_payload)

    @property
    def c(self) -> Any:
        """The C ring (`struct vring_c *`), for remote_fw/host_transport.c."""
        return self._vr

    # descriptor table (driver writes, device reads)
    def set_desc(self, i: int, addr: int, length: int, flags: int = 0, next_: int = 0) -> None:
        lib.vring_set_desc(self._vr, i, addr, length, flags, next_)

    def desc(self, i: int) -> tuple[int, int, int, int]:
        """(addr, len, flags, next) of descriptor i."""
        out = ffi.new("uint64_t *"), ffi.new("uint32_t *"), ffi.new("uint16_t[2]")
        lib.vring_desc(self._vr, i, out[0], out[1], out[2], out[2] + 1)
        return out[0][0], out[1][0], out[2][0], out[2][1]

    # available ring (driver → device)
    def avail_idx(self) -> int:
        return lib.vring_avail_idx(self._vr)

    def avail_entry(self, idx: int) -> int:
        return lib.vring_avail_entry(self._vr, idx & 0xFFFF)

    def add_avail(self, head: int) -> bool:
        """Driver: publish descriptor `head`; True when the device asked to be kicked."""
        return bool(lib.vring_add_avail(self._vr, head))

    # used ring (device → driver)
    def used_idx(self) -> int:
        return lib.vring_used_idx(self._vr)

    def used_entry(self, idx: int) -> tuple[int, int]:
        """(descriptor id, written length) of used slot idx."""
        out = ffi.new("uint32_t[2]")
        lib.vring_used_entry(self._vr, idx & 0xFFFF, out, out + 1)
        return out[0], out[1]

    def add_used(self, head: int, length: int) -> bool:
        """Device: return descriptor `head`; True when the driver asked to be interrupted."""
        return bool(lib.vring_add_used(self._vr, head, length))

    # event indices: "notify me when the other side's idx moves past this value"; setting one
    # is followed by a full barrier, so the caller's second look at the ring is not stale.
    @property
    def used_event(self) -> int:
        return lib.vring_used_event(self._vr)

    @used_event.setter
    def used_event(self, value: int) -> None:
        lib.vring_set_used_event(self._vr, value & 0xFFFF)

    @property
    def avail_event(self) -> int:
        return lib.vring_avail_event(self._vr)

    @avail_event.setter
    def avail_event(self, value: int) -> None:
        lib.vring_set_avail_event(self._vr, value & 0xFFFF)

    # whole messages: rpmsg header + payload + descriptor + index, one C call each
    def post(self, head: int, addr: int, src: int, dst: int, payload: bytes | bytearray | memoryview) -> bool:
        """Linux: send through TX buffer `head` at device address `addr`; True = kick."""
        if type(payload) is not bytes:  # C takes bytes as char *; a bytearray or view is copied
            payload = bytes(payload)
        status = lib.rpmsg_post(self._vr, head, addr, src, dst, payload, len(payload))
        if status & _EFAULT:
            raise ValueError(f"TX buffer 0x{addr:x}+{len(payload)} is outside the buffer pool")
        return bool(status & _KICK)

    def fill(self, last_avail: Any, src: int, dst: int, payload: bytes | bytearray | memoryview) -> bool | None:
        """The core: fill the next buffer Linux posted; None while none is, else True = kick."""
        if type(payload) is not bytes:
            payload = bytes(payload)
        status = lib.rpmsg_fill(self._vr, last_avail, src, dst, payload, len(payload))
        if status & _OK:
            return bool(status & _KICK)
        if status & (_EMSGSIZE | _EFAULT):
            addr, length, _flags, _next = self.desc(self.avail_entry(last_avail[0]))
            if status & _EMSGSIZE:
                raise ValueError(f"{len(payload)}-byte payload does not fit Linux's {length}-byte buffer")
            raise ValueError(f"descriptor address 0x{addr:x}+{length} is outside the buffer pool")
        return None

    def take_avail(self, last_avail: Any, avail: int) -> tuple[list[tuple[int, int, bytes]], bool]:
        """The core: copy out every message up to `avail` and return its buffer (used ring).
        Returns ([(src, dst, payload)] in ring order, whether Linux asked to be notified)."""
        vr, msg, scratch, cap, unpack = self._vr, self._msg, self._scratch, self._cap, ffi.unpack
        messages = []
        notify = 0
        while status := lib.rpmsg_take(vr, last_avail, avail, msg, scratch, cap):
            notify |= status
            if status & _OK:
                messages.append((msg.src, msg.dst, unpack(scratch, msg.len)))
            else:
                log.warning("dropping malformed buffer %d (len %d, header len %d)",
                            msg.head, msg.desc_len, msg.len)
        return messages, bool(notify & _KICK)

    def recv_used(self, last_used: Any, used: int, max_len: int, receive: Receiver | None) -> bool:
        """Linux: deliver each used buffer up to `used` to `receive(src, dst, payload)` and post
        it again (rpmsg_recv_done); True when the core asked to be kicked."""
        vr, msg, scratch, unpack = self._vr, self._msg, self._scratch, ffi.unpack
        kick = 0
        while status := lib.rpmsg_recv(vr, last_used, used, max_len, msg, scratch):
            kick |= status
            if not status & _OK:
                log.warning("inbound msg too big: (%d, %d), dropped", msg.desc_len, msg.len)
            elif receive is not None:
                receive(msg.src, msg.dst, unpack(scratch, msg.len))
        return bool(kick & _KICK)

    def dump(self, title: str = "vring", base: int = 0) -> str:
        """Human-readable state: every descriptor, then both rings, as a debugger would show."""
        vr = self._vr
        lines = [f"{title}: num={self.num} at 0x{base + self.offset:08x} ({self.size} bytes)"]
        lines.append("  descriptors:")
        for i in range(self.num):
            addr, length, flags, next_ = self.desc(i)
            names = "|".join(n for bit, n in _DESC_FLAG_NAMES if flags & bit)
            lines.append(
                f"    [{i:3d}] addr=0x{addr:08x} len={length:4d} flags=0x{flags:x}"
                f"{'(' + names + ')' if names else ''} next={next_}"
            )
        avail = " ".join(str(self.avail_entry(i)) for i in range(self.num))
        lines.append(
            f"  avail: flags=0x{lib.vring_avail_flags(vr):x} idx={self.avail_idx()}"
            f" used_event={self.used_event}"
        )
        lines.append(f"    ring: {avail}")
        used = " ".join(f"{i}:{n}" for i, n in (self.used_entry(j) for j in range(self.num)))
        lines.append(
            f"  used: flags=0x{lib.vring_used_flags(vr):x} idx={self.used_idx()}"
            f" avail_event={self.avail_event}"
        )
        lines.append(f"    ring (id:len): {used}")
        return "\n".join(lines)
