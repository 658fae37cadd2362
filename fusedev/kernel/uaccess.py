"""copy_from_user for a driver that reads user memory FUSE did not copy for it.

FUSE copies an ioctl's argument only as far as the command's `_IOC` encoding says; a driver
that reads more (rpmsg_ctrl copies 40 bytes whatever the command) gets only the pointer. The
calling thread's memory is read as the kernel would read it, through /proc/TID/mem: an address
that is not mapped fails there (EIO), where copy_from_user fails with EFAULT.
"""
from __future__ import annotations

import errno
import logging
import os

from fusedev.fileops import FsError

log = logging.getLogger(__name__)

ADDRESS_LIMIT = 1 << 63  # no user address is this high (and pread cannot seek there)


def copy_from_user(tid: int, addr: int, size: int) -> bytes | None:
    """The `size` bytes at `addr` in thread `tid`; FsError(EFAULT) where the kernel's copy
    would fault. None when we cannot look (the thread is not visible to us, or reading its
    memory is not permitted): the caller then takes the memory as readable."""
    if addr == 0 or addr + size > ADDRESS_LIMIT:
        raise FsError(errno.EFAULT)
    if tid <= 0:
        return None
    try:
        fd = os.open(f"/proc/{tid}/mem", os.O_RDONLY)
    except OSError as exc:
        log.debug("cannot read the memory of thread %d: %s", tid, exc)
        return None
    try:
        data = os.pread(fd, size, addr)
    except OSError as exc:
        if exc.errno in (errno.EIO, errno.EFAULT):
            raise FsError(errno.EFAULT) from None
        log.debug("cannot read the memory of thread %d: %s", tid, exc)
        return None
    finally:
        os.close(fd)
    if len(data) < size:  # the mapping ends inside the struct
        raise FsError(errno.EFAULT)
    return data
