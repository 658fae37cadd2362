"""remoteproc_cdev: /dev/remoteprocN, the character device of CONFIG_REMOTEPROC_CDEV.

drivers/remoteproc/remoteproc_cdev.c. The region "remoteproc" has 64 minors and the minor is
the rproc index (`rproc_char_device_add`). There is no open or read: any open succeeds and a
read is EINVAL, as the VFS answers for a driver without `.read`. A write is a command compared
with `strncmp(cmd, word, len)` on the raw buffer (at most 10 bytes), so "start" and
"start\\0" work but "start\\n" (`echo start >`) is EINVAL, as on the board. The ioctls of
include/uapi/linux/remoteproc_cdev.h set and get `cdev_put_on_release`: when it is set,
closing any file of the device shuts the processor down (or detaches an attached one).
TI's vendor RPROC_IOC_DMA_BUF_ATTACH gives a dma-buf a device address for the core
(remoteproc_dmabuf.py); closing the file detaches what it attached.
"""
from __future__ import annotations

import errno
import logging
import struct
from typing import TYPE_CHECKING

from fusedev.fuse.fileops import FileOperations, FsError, OpenFile
from fusedev.kernel.remoteproc_dmabuf import RPROC_IOC_DMA_BUF_ATTACH, RprocDmabufs
from fusedev.kernel.sysfs_input import strncmp_equal

if TYPE_CHECKING:
    from fusedev.kernel.remoteproc import Rproc

log = logging.getLogger(__name__)

NUM_RPROC_DEVICES = 64  # minors of the "remoteproc" region (rproc_init_cdev)
RPROC_MAGIC = 0xB7
RPROC_SET_SHUTDOWN_ON_RELEASE = 0x4004B701  # _IOW(RPROC_MAGIC, 1, __s32)
RPROC_GET_SHUTDOWN_ON_RELEASE = 0x8004B702  # _IOR(RPROC_MAGIC, 2, __s32)
_CMD_MAX = 10  # char cmd[10] in rproc_cdev_write


class RprocCdev(FileOperations):
    """The file operations of one /dev/remoteprocN (`rproc_fops`)."""

    def __init__(self, rproc: Rproc) -> None:
        self.rproc = rproc
        self.dmabufs = RprocDmabufs(rproc)

    def write(self, file: OpenFile, data: bytes, flags: int) -> int:
        """rproc_cdev_write: start, stop or detach, with the state checks it makes first."""
        rproc = self.rproc
        if not data or len(data) > _CMD_MAX:
            raise FsError(errno.EINVAL)
        live = rproc.state in ("running", "attached")
        if strncmp_equal(data, "start"):
            if live:
                raise FsError(errno.EBUSY)
            rproc.boot()
        elif strncmp_equal(data, "stop"):
            if not live:
                raise FsError(errno.EINVAL)
            rproc.shutdown()
        elif strncmp_equal(data, "detach") and rproc.has_detach_command:
            if rproc.state != "attached":
                raise FsError(errno.EINVAL)
            rproc.detach()
        else:
            log.info("%s: Unrecognized option", rproc.dev.name)
            raise FsError(errno.EINVAL)
        return len(data)

    def ioctl(self, file: OpenFile, cmd: int, arg: int, data: bytes) -> tuple[int, bytes]:
        """rproc_device_ioctl; FUSE has already copied the __s32 in or out (a bad pointer is
        EFAULT before we are asked, as copy_from_user/copy_to_user give)."""
        if cmd == RPROC_SET_SHUTDOWN_ON_RELEASE:
            (param,) = struct.unpack("=i", data[:4].ljust(4, b"\0"))
            self.rproc.cdev_put_on_release = param != 0
            return 0, b""
        if cmd == RPROC_GET_SHUTDOWN_ON_RELEASE:
            return 0, struct.pack("=i", int(self.rproc.cdev_put_on_release))
        if cmd == RPROC_IOC_DMA_BUF_ATTACH:
            return self.dmabufs.attach_ioctl(file, data)
        log.info("%s: Unsupported ioctl", self.rproc.dev.name)
        raise FsError(errno.EINVAL)

    def release(self, file: OpenFile) -> None:
        """rproc_cdev_release: with shutdown-on-release set, stop or detach the processor;
        then release every dma-buf attached through this file."""
        rproc = self.rproc
        self.dmabufs.release(file)  # no state in common with the shutdown below
        if not rproc.cdev_put_on_release:
            return
        try:
            if rproc.state == "running":
                rproc.shutdown()
            elif rproc.state == "attached":
                rproc.detach()
        except FsError as exc:
            log.warning("%s: shutdown on release failed: %s", rproc.dev.name, exc.strerror)
