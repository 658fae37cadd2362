"""`rpmsg-emu run`'s answers to the DMA-buf ioctls: a heap allocation hands the caller a real fd.

The host kernel has no DMA-buf heaps here, so a buffer is a memfd of the allocated size,
installed in the caller with SECCOMP_IOCTL_NOTIF_ADDFD (`FdHandover`). It can be mmapped and
shared like a dma-buf; the daemon reaches the same pages with pidfd_getfd when the buffer is
attached to a remote core (kernel/remoteproc_dmabuf.py). The memfd is named after the heap
(kernel/dma_heap.py `DmaHeap.allocate`), which is how a later DMA_BUF_IOCTL_SYNC on it is
recognised and routed to the heap that exported it, as the kernel routes it to the
exporter's ops. The
daemon keeps nothing of a buffer after the allocation: a client that exits without freeing
leaves nothing behind.

DMA_HEAP_IOCTL_ALLOC as drivers/dma-buf/dma-heap.c does it (`dma_heap_ioctl` copies the
struct in, `dma_heap_ioctl_allocate` checks it, `dma_heap_buffer_alloc` page-aligns):
EFAULT for an unreadable struct; EINVAL when `fd` is not 0, for `fd_flags` outside
O_CLOEXEC|O_ACCMODE, for any `heap_flags`, and for a length that page-aligns to 0; ENOMEM
when the heap cannot give that much. The new fd's access mode is `fd_flags & O_ACCMODE`
(dma_buf_export's file flags), so an O_RDONLY buffer cannot be mapped for writing.

DMA_BUF_IOCTL_SYNC as drivers/dma-buf/dma-buf.c `dma_buf_ioctl`: EFAULT, then EINVAL for flags
outside DMA_BUF_SYNC_VALID_FLAGS_MASK or with neither READ nor WRITE; else 0.
"""
from __future__ import annotations

import errno
import logging
import os
import struct

from fusedev.cli import target_process
from fusedev.kernel import uaccess
from fusedev.kernel.dma_heap import DmaHeap, buffer_heap_name, page_align
from fusedev.cli.seccomp_filter import DMA_BUF_IOCTL_SYNC, DMA_HEAP_IOCTL_ALLOC
from fusedev.cli.syscall_answers import CONTINUE, EmulatedNodes, FdHandover, Reply

log = logging.getLogger(__name__)

ALLOC_FORMAT = "=QIIQ"  # struct dma_heap_allocation_data: len, fd, fd_flags, heap_flags
ALLOC_SIZE = struct.calcsize(ALLOC_FORMAT)  # 24
DMA_HEAP_VALID_FD_FLAGS = os.O_CLOEXEC | os.O_ACCMODE
DMA_HEAP_VALID_HEAP_FLAGS = 0
DMA_BUF_SYNC_READ = 1 << 0
DMA_BUF_SYNC_WRITE = 2 << 0
DMA_BUF_SYNC_RW = DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE
DMA_BUF_SYNC_START = 0 << 2
DMA_BUF_SYNC_END = 1 << 2
DMA_BUF_SYNC_VALID_FLAGS_MASK = DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END
DMA_IOCTLS = (DMA_HEAP_IOCTL_ALLOC, DMA_BUF_IOCTL_SYNC)


class DmaHeapAnswers:
    """DMA_HEAP_IOCTL_ALLOC on a heap node, DMA_BUF_IOCTL_SYNC on a buffer of ours."""

    def __init__(self, nodes: EmulatedNodes) -> None:
        self.nodes = nodes

    def ioctl(self, tid: int, fd: int, cmd: int, arg: int) -> Reply:
        if cmd == DMA_HEAP_IOCTL_ALLOC:
            heap = self._heap_of_fd(tid, fd)
            return CONTINUE if heap is None else self._alloc(tid, heap, arg)
        heap = self._exporter(tid, fd)
        return CONTINUE if heap is None else self._sync(tid, heap, fd, arg)

    def heap(self, name: str) -> DmaHeap | None:
        node = self.nodes.dev_dir.children.get("dma_heap")
        entry = node.children.get(name) if node is not None else None  # type: ignore[union-attr]
        return getattr(getattr(entry, "fops", None), "heap", None)

    def _heap_of_fd(self, tid: int, fd: int) -> DmaHeap | None:
        try:
            st = os.stat(target_process.fd_path(tid, fd))
        except OSError:
            return None
        node = self.nodes.node(st.st_dev, st.st_ino)
        return getattr(getattr(node, "fops", None), "heap", None)

    def _exporter(self, tid: int, fd: int) -> DmaHeap | None:
        try:
            name = buffer_heap_name(os.readlink(target_process.fd_path(tid, fd)))
        except OSError:
            return None
        return self.heap(name) if name is not None else None

    # ---- DMA_HEAP_IOCTL_ALLOC -------------------------------------------------------------

    def _alloc(self, tid: int, heap: DmaHeap, arg: int) -> Reply:
        try:
            raw = uaccess.read_memory(tid, arg, ALLOC_SIZE)
        except OSError:
            raw = b""
        if len(raw) < ALLOC_SIZE:
            return Reply(error=errno.EFAULT)
        length, fd, fd_flags, heap_flags = struct.unpack(ALLOC_FORMAT, raw)
        if fd or fd_flags & ~DMA_HEAP_VALID_FD_FLAGS or heap_flags & ~DMA_HEAP_VALID_HEAP_FLAGS:
            return Reply(error=errno.EINVAL)
        size = page_align(length)
        if not size:
            return Reply(error=errno.EINVAL)
        try:
            ours = heap.allocate(size, fd_flags & os.O_ACCMODE)
        except OSError as exc:
            return Reply(error=exc.errno or errno.ENOMEM)
        log.debug("%s: %d bytes for thread %d", heap.name, size, tid)

        def finish(newfd: int) -> Reply:
            done = struct.pack(ALLOC_FORMAT, length, newfd, fd_flags, heap_flags)
            try:
                uaccess.write_memory(tid, arg, done)
            except OSError:
                return Reply(error=errno.EFAULT)  # the fd stays installed, as in the kernel
            return Reply(value=0)

        return Reply(handover=FdHandover(ours, bool(fd_flags & os.O_CLOEXEC), finish))

    # ---- DMA_BUF_IOCTL_SYNC ---------------------------------------------------------------

    def _sync(self, tid: int, heap: DmaHeap, fd: int, arg: int) -> Reply:
        try:
            raw = uaccess.read_memory(tid, arg, 8)
        except OSError:
            raw = b""
        if len(raw) < 8:
            return Reply(error=errno.EFAULT)
        (flags,) = struct.unpack("=Q", raw)
        if flags & ~DMA_BUF_SYNC_VALID_FLAGS_MASK or not flags & DMA_BUF_SYNC_RW:
            return Reply(error=errno.EINVAL)
        heap.cpu_sync(tid, fd, flags)
        return Reply(value=0)
