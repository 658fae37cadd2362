"""A split virtqueue laid out in shared memory exactly as virtio specifies (legacy layout):

    descriptor table   num × {addr u64, len u32, flags u16, next u16}
    available ring     flags u16, idx u16, ring[num] u16, used_event u16
    (pad to VRING_ALIGN)
    used ring          flags u16, idx u16, ring[num] × {id u32, len u32}, avail_event u16

The driver (Linux) writes descriptors and the available ring; the device (remote core) writes
the used ring. Both sides use VIRTIO_RING_F_EVENT_IDX notification suppression (used_event /
avail_event) so that one kick covers a burst, which keeps the mailbox quiet under load.
Indices are free-running u16 counters; ring slots are idx mod num.
"""

from __future__ import annotations

import struct

VRING_DESC = struct.Struct("<QIHH")
VRING_USED_ELEM = struct.Struct("<II")
_U16 = struct.Struct("<H")

VRING_DESC_F_NEXT = 1
VRING_DESC_F_WRITE = 2
VRING_DESC_F_INDIRECT = 4
_DESC_FLAG_NAMES = ((VRING_DESC_F_NEXT, "NEXT"), (VRING_DESC_F_WRITE, "WRITE"), (VRING_DESC_F_INDIRECT, "INDIRECT"))
VRING_ALIGN = 4096


def align(value: int, alignment: int) -> int:
    return (value + alignment - 1) & ~(alignment - 1)


def vring_size(num: int, alignment: int = VRING_ALIGN) -> int:
    """Bytes a vring of `num` entries occupies (virtio's vring_size())."""
    return align(16 * num + 6 + 2 * num, alignment) + 6 + 8 * num


def need_event(event: int, new: int, old: int) -> bool:
    """virtio's vring_need_event(): notify when idx moved past `event` going old → new."""
    return (new - event - 1) & 0xFFFF < (new - old) & 0xFFFF


class Vring:
    """One split virtqueue inside a shared bytearray, read and written in place."""

    def __init__(self, mem: bytearray, offset: int, num: int, alignment: int = VRING_ALIGN) -> None:
        if num <= 0 or num & (num - 1) or num > 32768:
            raise ValueError(f"vring size {num} must be a power of two up to 32768")
        self.mem = mem
        self.num = num
        self.mask = num - 1
        self.offset = offset
        self.desc_off = offset
        avail = offset + 16 * num
        self.avail_flags_off = avail
        self.avail_idx_off = avail + 2
        self.avail_ring_off = avail + 4
        self.used_event_off = avail + 4 + 2 * num
        used = offset + align(16 * num + 6 + 2 * num, alignment)
        self.used_flags_off = used
        self.used_idx_off = used + 2
        self.used_ring_off = used + 4
        self.avail_event_off = used + 4 + 8 * num
        self.size = vring_size(num, alignment)

    # descriptor table (driver writes, device reads)
    def set_desc(self, i: int, addr: int, length: int, flags: int = 0, next_: int = 0) -> None:
        VRING_DESC.pack_into(self.mem, self.desc_off + 16 * i, addr, length, flags, next_)

    def desc(self, i: int) -> tuple[int, int, int, int]:
        """(addr, len, flags, next) of descriptor i."""
        return VRING_DESC.unpack_from(self.mem, self.desc_off + 16 * i)

    # available ring (driver → device)
    def avail_idx(self) -> int:
        return _U16.unpack_from(self.mem, self.avail_idx_off)[0]

    def avail_entry(self, idx: int) -> int:
        return _U16.unpack_from(self.mem, self.avail_ring_off + 2 * (idx & self.mask))[0]

    def add_avail(self, head: int) -> bool:
        """Driver: publish descriptor `head`; True when the device asked to be kicked."""
        mem = self.mem
        old = _U16.unpack_from(mem, self.avail_idx_off)[0]
        _U16.pack_into(mem, self.avail_ring_off + 2 * (old & self.mask), head)
        new = (old + 1) & 0xFFFF
        _U16.pack_into(mem, self.avail_idx_off, new)
        event = _U16.unpack_from(mem, self.avail_event_off)[0]
        return (new - event - 1) & 0xFFFF < 1

    # used ring (device → driver)
    def used_idx(self) -> int:
        return _U16.unpack_from(self.mem, self.used_idx_off)[0]

    def used_entry(self, idx: int) -> tuple[int, int]:
        """(descriptor id, written length) of used slot idx."""
        return VRING_USED_ELEM.unpack_from(self.mem, self.used_ring_off + 8 * (idx & self.mask))

    def add_used(self, head: int, length: int) -> bool:
        """Device: return descriptor `head`; True when the driver asked to be interrupted."""
        mem = self.mem
        old = _U16.unpack_from(mem, self.used_idx_off)[0]
        VRING_USED_ELEM.pack_into(mem, self.used_ring_off + 8 * (old & self.mask), head, length)
        new = (old + 1) & 0xFFFF
        _U16.pack_into(mem, self.used_idx_off, new)
        event = _U16.unpack_from(mem, self.used_event_off)[0]
        return (new - event - 1) & 0xFFFF < 1

    # event indices: "notify me when the other side's idx moves past this value"
    @property
    def used_event(self) -> int:
        return _U16.unpack_from(self.mem, self.used_event_off)[0]

    @used_event.setter
    def used_event(self, value: int) -> None:
        _U16.pack_into(self.mem, self.used_event_off, value & 0xFFFF)

    @property
    def avail_event(self) -> int:
        return _U16.unpack_from(self.mem, self.avail_event_off)[0]

    @avail_event.setter
    def avail_event(self, value: int) -> None:
        _U16.pack_into(self.mem, self.avail_event_off, value & 0xFFFF)

    def dump(self, title: str = "vring", base: int = 0) -> str:
        """Human-readable state: every descriptor, then both rings, as a debugger would show."""
        u16 = lambda off: _U16.unpack_from(self.mem, off)[0]  # noqa: E731
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
            f"  avail: flags=0x{u16(self.avail_flags_off):x} idx={self.avail_idx()}"
            f" used_event={self.used_event}"
        )
        lines.append(f"    ring: {avail}")
        used = " ".join(f"{i}:{n}" for i, n in (self.used_entry(j) for j in range(self.num)))
        lines.append(
            f"  used: flags=0x{u16(self.used_flags_off):x} idx={self.used_idx()}"
            f" avail_event={self.avail_event}"
        )
        lines.append(f"    ring (id:len): {used}")
        return "\n".join(lines)
