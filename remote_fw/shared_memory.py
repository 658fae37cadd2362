"""One remote core's shared memory carve-out, the only thing both CPUs touch besides the mailbox.

Layout, as remoteproc + virtio_rpmsg_bus set it up:
    vring0  remote → Linux (Linux's "input" queue: Linux posts empty buffers, remote fills them)
    vring1  Linux → remote (Linux's "output" queue: Linux fills buffers, remote returns them)
    buffers 2 × num_bufs × buf_size; the first half are Linux's RX buffers, the second half TX.
Descriptors hold device addresses (`base` + offset), so a ring dump looks like the board's; the
C ring code refuses one that points outside the buffer pool.
"""

from __future__ import annotations

from .rpmsg_header import RPMSG_HDR_SIZE
from .vring import VRING_ALIGN, Vring, align, vring_size

VRING_REMOTE_TO_HOST = 0
VRING_HOST_TO_REMOTE = 1
DEFAULT_BASE = 0xA000_0000  # where TI K3 device trees put the first core's DMA memory pool


class SharedMemory:
    def __init__(self, num_bufs: int = 256, buf_size: int = 512, base: int = DEFAULT_BASE) -> None:
        if buf_size <= RPMSG_HDR_SIZE:
            raise ValueError(f"buffer size {buf_size} leaves no room after the 16-byte header")
        self.num_bufs = num_bufs
        self.buf_size = buf_size
        self.base = base
        ring_bytes = align(vring_size(num_bufs), VRING_ALIGN)
        self.buffers_offset = 2 * ring_bytes
        self.mem = bytearray(self.buffers_offset + 2 * num_bufs * buf_size)
        self.vrings = tuple(
            Vring(self.mem, offset, num_bufs, base=base, pool_offset=self.buffers_offset, max_payload=buf_size)
            for offset in (0, ring_bytes)
        )

    def buffer_addr(self, index: int) -> int:
        """Device address of buffer `index` (0..2·num_bufs−1; RX half first)."""
        return self.base + self.buffers_offset + index * self.buf_size

    def dump(self, vring: int) -> str:
        title = ("vring0 (remote→Linux)", "vring1 (Linux→remote)")[vring]
        return self.vrings[vring].dump(title, self.base)
