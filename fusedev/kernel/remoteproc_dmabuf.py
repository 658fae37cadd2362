"""TI's RPROC_IOC_DMA_BUF_ATTACH on /dev/remoteprocN: a dma-buf gets a device address.

TI vendor kernel, drivers/remoteproc/remoteproc_cdev.c `rproc_device_ioctl` and
include/uapi/linux/remoteproc_cdev.h: `struct rproc_dma_buf_attach_data { __u32 fd; __u64 da; }`
goes in and out; `dma_buf_get(fd)` (EBADF for a bad fd, EINVAL for a file that is not a
dma-buf), `rproc_attach_dmabuf` + `rproc_dmabuf_get_da` pin and map it, and the buffer is
kept on the open file's list. There is no detach ioctl: `rproc_cdev_release` detaches every
buffer attached through that file when it is closed (or its process exits).

Here the dma-buf is a memfd in the caller (fusedev/cli/dma_heap_answers.py); the daemon takes the
same file with pidfd_getfd on the calling process, maps it, closes the fd, and hands the
mapping to the core's device-address table (remote_fw/dma_buffers.py), the way Linux programs
an IOMMU or the R5F's address translator. The address is the buffer's physical address in
its heap's window (kernel_cfg/dma_heaps.py): the K3 cores see DDR where Linux does. A buffer
of the `system` heap is scattered pages and has no single device address: EINVAL (modelled:
the K3 R5F/M4F have no IOMMU to make it contiguous). The same buffer attached again, through
any file, gets the same address; it is unmapped when its last attachment goes.
"""
from __future__ import annotations

import errno
import logging
import mmap
import os
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from fusedev.fuse.fileops import FsError, OpenFile
from fusedev.kernel import uaccess
from fusedev.kernel.dma_heap import DmaHeap, buffer_heap_of

if TYPE_CHECKING:
    from fusedev.kernel.remoteproc import Rproc

log = logging.getLogger(__name__)

RPROC_IOC_DMA_BUF_ATTACH = 0xC010B700  # _IOWR(RPROC_MAGIC, 0, struct rproc_dma_buf_attach_data)
ATTACH_FORMAT = "=I4xQ"  # fd, padding, da


@dataclass(eq=False)
class _Attachment:
    key: tuple[int, int]  # (st_dev, st_ino) of the buffer: its identity
    heap: DmaHeap
    da: int
    memory: mmap.mmap
    files: list[OpenFile] = field(default_factory=list)  # one entry per attach call


class RprocDmabufs:
    """The dma-bufs attached to one remote processor, and which open files hold them."""

    def __init__(self, rproc: Rproc) -> None:
        self.rproc = rproc
        self._by_key: dict[tuple[int, int], _Attachment] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def attach_ioctl(self, file: OpenFile, data: bytes) -> tuple[int, bytes]:
        """RPROC_IOC_DMA_BUF_ATTACH: FUSE copied the 16-byte struct in and copies it out."""
        fd, _ = struct.unpack(ATTACH_FORMAT, data[:16].ljust(16, b"\0"))
        ours = _take_fd(file.caller, fd)
        try:
            da = self.attach(file, ours)
        finally:
            os.close(ours)
        return 0, data[:8].ljust(8, b"\0") + struct.pack("=Q", da)

    def attach(self, file: OpenFile, ours: int) -> int:
        """Attach the dma-buf open as our `ours` through `file`; its device address."""
        name = buffer_heap_of(ours)
        heap = self.rproc.kernel.dma_heaps.heaps.get(name) if name is not None else None
        if heap is None:
            raise FsError(errno.EINVAL)  # dma_buf_get: not a dma-buf
        st = os.fstat(ours)
        key = (st.st_dev, st.st_ino)
        found = self._by_key.get(key)
        if found is None:
            found = self._map(heap, ours, key, st.st_size)
        found.files.append(file)
        log.debug("%s: dma-buf of %s attached at %#x", self.rproc.name, heap.name, found.da)
        return found.da

    def _map(self, heap: DmaHeap, ours: int, key: tuple[int, int], size: int) -> _Attachment:
        if not heap.spec.contiguous:
            log.info("%s: a %s heap buffer has no contiguous device address",
                     self.rproc.name, heap.name)
            raise FsError(errno.EINVAL)
        da = heap.reserve(size)
        if da is None:
            raise FsError(errno.ENOMEM)
        try:
            # The attachment maps the pages whatever the caller's access mode (the kernel
            # pins them), so open the same memfd again for reading and writing.
            rw = os.open(f"/proc/self/fd/{ours}", os.O_RDWR | os.O_CLOEXEC)
            try:
                memory = mmap.mmap(rw, size)
            finally:
                os.close(rw)
        except OSError as exc:
            heap.release(da)
            raise FsError(exc.errno or errno.ENOMEM) from exc
        found = _Attachment(key, heap, da, memory)
        self.rproc.core.dma.map(da, memory, self._monitor(found))
        self._by_key[key] = found
        return found

    def _monitor(self, found: _Attachment) -> Callable[[int, int], None] | None:
        """The debug mode's bus monitor for the core's table (None when the mode is off)."""
        coherence = found.heap.coherence
        if coherence is None:
            return None
        return lambda da, size: coherence.device_access(found.key, found.memory, self.rproc.name)

    def release(self, file: OpenFile) -> None:
        """rproc_cdev_release: detach every buffer attached through `file`."""
        for key, found in list(self._by_key.items()):
            found.files = [f for f in found.files if f is not file]
            if found.files:
                continue
            del self._by_key[key]
            self.rproc.core.dma.unmap(found.da)
            found.heap.release(found.da)
            if found.heap.coherence is not None:
                found.heap.coherence.detached(key, found.memory, self.rproc.name)
            try:
                found.memory.close()
            except BufferError:
                pass  # the firmware still holds a view: unmapped once it lets go
            log.debug("%s: dma-buf at %#x detached", self.rproc.name, found.da)


def _take_fd(tid: int, fd: int) -> int:
    """The caller's file `fd` as a file of ours (pidfd_getfd): EBADF when it has none."""
    if tid <= 0:
        raise FsError(errno.EBADF)
    try:
        return uaccess.take_fd(tid, fd)
    except OSError as exc:
        if exc.errno == errno.EPERM:
            log.warning("RPROC_IOC_DMA_BUF_ATTACH: not allowed to take fd %d of thread %d "
                        "(pidfd_getfd needs ptrace access): run it under `rpmsg-emu run`",
                        fd, tid)
        if exc.errno in (errno.EBADF, errno.EPERM):
            raise FsError(exc.errno) from exc
        raise FsError(errno.ESRCH) from exc
