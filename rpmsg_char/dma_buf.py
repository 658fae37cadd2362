"""Zero-copy buffers for large data: DMA-buf heaps, CPU-access syncs, and TI's remoteproc attach.

rpmsg messages carry at most 496 bytes. For more, TI's IPC guide puts the data in a buffer
from a DMA-buf heap (/dev/dma_heap/<heap>), attaches it to the remote core with the vendor
ioctl RPROC_IOC_DMA_BUF_ATTACH on /dev/remoteprocN (which returns the address the core sees)
and sends that address in a message::

    with rpmsg_char.RpmsgChar() as rc, rc.open(9, 14) as ep, dma_buf.alloc(16 << 20) as buf:
        with buf.cpu_access(write=True):          # SYNC_START|WRITE ... SYNC_END|WRITE
            buf.map()[:] = data
        da = buf.attach(ep)                       # the core's address for the buffer
        ep.send(struct.pack("<IIQQ", 1, 0, da, buf.size))

Works on a board with TI's kernel as it is; under the rpmsg-emu emulator the heaps need
`rpmsg-emu run` (the allocation hands the caller a new file descriptor, which a FUSE file
cannot do). Standard library only.
"""

import contextlib
import errno
import fcntl
import mmap
import os
import struct
from typing import Iterator

from .errors import RpmsgCharError
from .root import select_root

DMA_HEAP_IOCTL_ALLOC = 0xC0184800  # linux/dma-heap.h: _IOWR('H', 0, dma_heap_allocation_data)
DMA_BUF_IOCTL_SYNC = 0x40086200  # linux/dma-buf.h: _IOW('b', 0, struct dma_buf_sync)
RPROC_IOC_DMA_BUF_ATTACH = 0xC010B700  # TI remoteproc_cdev.h: _IOWR(0xB7, 0, attach data)
SYNC_READ, SYNC_WRITE, SYNC_START, SYNC_END = 1, 2, 0, 4
_ALLOC = struct.Struct("=QIIQ")  # len, fd, fd_flags, heap_flags
_ATTACH = struct.Struct("=I4xQ")  # fd, da


class DmaBuf:
    """One buffer from a heap: `fileno()`, `size`, `map()`, syncs, attachments to cores."""

    def __init__(self, fd: int, size: int, heap: str, root: str) -> None:
        self._fd = fd
        self.size = size
        self.heap = heap
        self._root = root
        self._map: mmap.mmap | None = None
        self._rprocs: dict[str, tuple[int, int]] = {}  # /dev/remoteprocN -> (fd, da)

    def fileno(self) -> int:
        if self._fd < 0:
            raise RpmsgCharError(9, "the buffer is closed", step="use dma-buf")
        return self._fd

    def map(self) -> mmap.mmap:
        """The buffer mapped shared, read and write (mapped once, kept until close)."""
        if self._map is None:
            try:
                self._map = mmap.mmap(self.fileno(), self.size)
            except OSError as exc:
                raise RpmsgCharError.from_os_error(exc, "cannot map the dma-buf",
                                                   step="mmap dma-buf") from exc
        return self._map

    def sync(self, flags: int) -> None:
        """DMA_BUF_IOCTL_SYNC with SYNC_START/SYNC_END | SYNC_READ/SYNC_WRITE."""
        try:
            fcntl.ioctl(self.fileno(), DMA_BUF_IOCTL_SYNC, struct.pack("=Q", flags))
        except OSError as exc:
            raise RpmsgCharError.from_os_error(exc, f"DMA_BUF_IOCTL_SYNC {flags:#x} failed",
                                               step="sync dma-buf") from exc

    @contextlib.contextmanager
    def cpu_access(self, *, read: bool = False, write: bool = False) -> Iterator[mmap.mmap]:
        """Bracket CPU reads and/or writes with SYNC_START and SYNC_END (cache maintenance:
        invalidate before reading what a core wrote, clean after writing for a core)."""
        flags = (SYNC_READ if read else 0) | (SYNC_WRITE if write else 0)
        if not flags:
            raise ValueError("cpu_access needs read=True and/or write=True")
        self.sync(SYNC_START | flags)
        try:
            yield self.map()
        finally:
            self.sync(SYNC_END | flags)

    def attach(self, target: object) -> int:
        """Attach to a remote core (an Endpoint, a Route, or a /dev/remoteprocN path);
        returns the device address the core uses. The attachment lasts until close()."""
        path = self._rproc_node(target)
        if path in self._rprocs:
            return self._rprocs[path][1]
        try:
            rproc = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            raise RpmsgCharError.from_os_error(exc, f"cannot open {path}",
                                               step="attach dma-buf", path=path) from exc
        try:
            data = bytearray(_ATTACH.pack(self.fileno(), 0))
            fcntl.ioctl(rproc, RPROC_IOC_DMA_BUF_ATTACH, data)
        except OSError as exc:
            os.close(rproc)
            raise RpmsgCharError.from_os_error(exc, "RPROC_IOC_DMA_BUF_ATTACH failed",
                                               step="attach dma-buf", path=path) from exc
        da = _ATTACH.unpack(data)[1]
        self._rprocs[path] = (rproc, da)
        return da

    def _rproc_node(self, target: object) -> str:
        if isinstance(target, (str, os.PathLike)):
            return os.fspath(target)
        route = getattr(target, "route", target)
        remoteproc_dir = getattr(route, "remoteproc_dir", None)
        if remoteproc_dir is None:
            raise TypeError("attach() takes an Endpoint, a Route or a /dev/remoteprocN path")
        return os.path.join(self._root, "dev", os.path.basename(remoteproc_dir))

    def close(self) -> None:
        """Detach from every core, unmap, and free the buffer."""
        for rproc, _ in self._rprocs.values():
            os.close(rproc)
        self._rprocs.clear()
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "DmaBuf":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def alloc(size: int, heap: str = "linux,cma", *, root: str | os.PathLike | None = None,
          access: int = os.O_RDWR) -> DmaBuf:
    """A new buffer of `size` bytes (rounded up to pages by the kernel) from /dev/dma_heap/HEAP."""
    base = select_root(root)
    path = os.path.join(base, "dev", "dma_heap", heap)
    try:
        heap_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise RpmsgCharError.from_os_error(exc, f"no DMA-buf heap {heap!r}", step="open heap",
                                           path=path) from exc
    try:
        data = bytearray(_ALLOC.pack(size, 0, access | os.O_CLOEXEC, 0))
        fcntl.ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, data)
    except OSError as exc:
        hint = (" (under rpmsg-emu, DMA-buf heaps need `rpmsg-emu run`)"
                if exc.errno == errno.EOPNOTSUPP else "")
        raise RpmsgCharError.from_os_error(exc, f"DMA_HEAP_IOCTL_ALLOC of {size} bytes{hint}",
                                           step="allocate dma-buf", path=path) from exc
    finally:
        os.close(heap_fd)
    _, fd, _, _ = _ALLOC.unpack(data)
    return DmaBuf(fd, os.fstat(fd).st_size, heap, base)
