"""DMA-buf heaps: /dev/dma_heap/NAME and /sys/class/dma_heap (drivers/dma-buf/dma-heap.c).

`dma_heap_add` gives each heap a minor of the "dma_heap" region in registration order and a
class device whose devnode is `dma_heap/<name>` (`dma_heap_devnode`). The one ioctl,
DMA_HEAP_IOCTL_ALLOC, returns a new file descriptor to the caller. A FUSE file cannot do
that, so the allocation is answered by `rpmsg-emu run`'s syscall supervisor
(fusedev/cli/dma_heap_answers.py), which traps the call before it reaches FUSE. What reaches
these file operations is therefore a program running without the supervisor: it gets
EOPNOTSUPP and the daemon says why, once per heap.

A contiguous heap (CMA, a carve-out) also owns its physical window: `reserve` hands out the
device address a buffer gets when it is attached to a remote core (remoteproc_dmabuf.py).
"""
from __future__ import annotations

import errno
import logging
import os
import stat
from typing import TYPE_CHECKING

from kernel_cfg.dma_heaps import HeapSpec, soc_heaps

from fusedev.fuse.fileops import FileOperations, FsError, OpenFile
from fusedev.kernel import dma_buf_coherence
from fusedev.kernel.driver_core import Device

if TYPE_CHECKING:
    from fusedev.kernel.kernel import Kernel

log = logging.getLogger(__name__)

PAGE_SIZE = 4096
MEMFD_PREFIX = "rpmsg-emu-dmabuf:"  # a buffer is a memfd named MEMFD_PREFIX + heap name
NUM_HEAP_MINORS = 128
NEEDS_RUN = ("DMA_HEAP_IOCTL_ALLOC on /dev/dma_heap/%s: a heap answers with a new file "
             "descriptor in the calling process, which a FUSE file cannot create; run the "
             "program under `rpmsg-emu run` (without --no-syscall-emulation), whose syscall "
             "supervisor hands it the buffer")


def buffer_heap_name(link: str) -> str | None:
    """The exporting heap's name from an fd's /proc link (`/memfd:NAME (deleted)`)."""
    prefix = "/memfd:" + MEMFD_PREFIX
    if not link.startswith(prefix):
        return None
    return link[len(prefix):].removesuffix(" (deleted)")


def buffer_heap_of(fd: int) -> str | None:
    """The exporting heap's name when our own `fd` is one of these buffers (else None);
    what `dma_buf_get` checks with `is_dma_buf_file`."""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return buffer_heap_name(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None


def page_align(length: int) -> int:
    """PAGE_ALIGN on a 64-bit size_t: wraps to 0 for the last page's worth of values."""
    return (length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1) & 0xFFFF_FFFF_FFFF_FFFF


class DmaHeap:
    """One registered heap: its spec, its device, and its window's address allocator."""

    def __init__(self, spec: HeapSpec, minor: int, major: int) -> None:
        self.spec = spec
        self.name = spec.name
        self.dev = Device(spec.name, devt=(major, minor), fops=DmaHeapFops(self),
                          devnode=f"dma_heap/{spec.name}")
        self._reserved: dict[int, int] = {}  # base -> size of every attached range
        self._explained = False
        self.coherence: dma_buf_coherence.CoherenceChecker | None = None  # the debug mode

    def allocate(self, size: int, access: int) -> int:
        """The heap's `allocate` op: a new buffer of `size` (page-aligned) bytes as a memfd
        of ours, opened with `access` (O_RDONLY, O_WRONLY, O_RDWR or O_ACCMODE, the dma-buf
        file's mode). ENOMEM past what the heap could ever give (the system heap's
        totalram check, the pool's size); live allocations are not counted against it."""
        if size > self.spec.size:
            raise FsError(errno.ENOMEM)
        fd = os.memfd_create(MEMFD_PREFIX + self.name, os.MFD_CLOEXEC)
        try:
            os.ftruncate(fd, size)
            if access == os.O_RDWR:
                fd, ours = -1, fd
                return ours
            return os.open(f"/proc/self/fd/{fd}", access | os.O_CLOEXEC)
        finally:
            if fd >= 0:
                os.close(fd)

    def reserve(self, size: int) -> int | None:
        """First fit in the window: the physical address of `size` contiguous bytes."""
        base = self.spec.base
        for start, used in sorted(self._reserved.items()):
            if start - base >= size:
                break
            base = max(base, start + used)
        if base + size > self.spec.base + self.spec.size:
            return None
        self._reserved[base] = size
        return base

    def release(self, base: int) -> None:
        self._reserved.pop(base, None)

    def cpu_sync(self, tid: int, fd: int, flags: int) -> None:
        """DMA_BUF_IOCTL_SYNC made it past the checks: the exporter's begin/end_cpu_access."""
        if self.coherence is not None:
            self.coherence.cpu_sync(tid, fd, flags)

    def explain_needs_run(self) -> None:
        if not self._explained:
            self._explained = True
            log.warning(NEEDS_RUN, self.name)


class DmaHeapFops(FileOperations):
    """`dma_heap_fops` as FUSE sees them (no read or write: the VFS says EINVAL)."""

    def __init__(self, heap: DmaHeap) -> None:
        self.heap = heap

    def ioctl(self, file: OpenFile, cmd: int, arg: int, data: bytes) -> tuple[int, bytes]:
        """dma_heap_ioctl: any nr past the table is EINVAL; nr 0 is the allocation."""
        if cmd & 0xFF >= 1:
            raise FsError(errno.EINVAL)
        self.heap.explain_needs_run()
        raise FsError(errno.EOPNOTSUPP, "DMA-buf heaps need rpmsg-emu run")


class DmaHeaps:
    """The board's heaps (its `[[dma_heaps]]`, else the SoC's), in registration order."""

    def __init__(self, kernel: Kernel) -> None:
        cls = kernel.core.device_class("dma_heap")
        major = kernel.chrdevs.named()["dma_heap"]
        self.heaps: dict[str, DmaHeap] = {}
        checker = dma_buf_coherence.CoherenceChecker() if dma_buf_coherence.enabled() else None
        board = kernel.board
        specs = board.dma_heaps if board.dma_heaps is not None else soc_heaps(board.soc.family)
        for minor, spec in enumerate(specs):
            if minor >= NUM_HEAP_MINORS:  # xa_alloc in dma_heap_add fails: the heap is not added
                log.error("dma_heap: Unable to get minor number for heap %s", spec.name)
                continue
            heap = DmaHeap(spec, minor, major)
            heap.coherence = checker
            heap.dev.cls = cls
            kernel.core.device_add(heap.dev)
            self.heaps[spec.name] = heap
