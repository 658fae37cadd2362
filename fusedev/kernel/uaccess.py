"""Reaching into a user process, as the kernel's uaccess and pidfd calls do for a driver.

FUSE hands a driver only what the request carries. A driver that reads user memory FUSE did
not copy for it (rpmsg_ctrl copies 40 bytes whatever the ioctl command's `_IOC` size), that
takes a file the caller names by number (TI's dma-buf attach), and `rpmsg-emu run`'s syscall
supervisor, which answers calls on a process's behalf, all do it here: memory with
`process_vm_readv`/`process_vm_writev` (an unmapped address fails with EFAULT, as
copy_from_user does), files with `pidfd_getfd` on the thread's process.
"""
from __future__ import annotations

import ctypes
import errno
import logging
import os

from fusedev.fuse.fileops import FsError

log = logging.getLogger(__name__)

ADDRESS_LIMIT = 1 << 63  # no user address is this high
PATH_MAX = 4096
PAGE = 4096
SYS_PIDFD_GETFD = 438  # the same number on every architecture (asm-generic/unistd.h)

_libc = ctypes.CDLL(None, use_errno=True)


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def _transfer(func, tid: int, local: ctypes.Array, remote_addr: int, size: int) -> int:
    local_iov = _Iovec(ctypes.addressof(local), size)
    remote_iov = _Iovec(remote_addr, size)
    done = func(tid, ctypes.byref(local_iov), 1, ctypes.byref(remote_iov), 1, 0)
    if done < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return done


def read_memory(tid: int, addr: int, size: int) -> bytes:
    """Up to `size` bytes at `addr` in thread `tid` (fewer where the mapping ends)."""
    buf = ctypes.create_string_buffer(size)
    done = _transfer(_libc.process_vm_readv, tid, buf, addr, size)
    return buf.raw[:done]


def write_memory(tid: int, addr: int, data: bytes) -> None:
    """Write all of `data` at `addr` in `tid`; EFAULT if it does not fit the mapping."""
    buf = ctypes.create_string_buffer(data, len(data))
    if _transfer(_libc.process_vm_writev, tid, buf, addr, len(data)) != len(data):
        raise OSError(errno.EFAULT, os.strerror(errno.EFAULT))


def read_path(tid: int, addr: int) -> bytes:
    """The NUL-terminated path at `addr`, read a page at a time (ENAMETOOLONG past PATH_MAX)."""
    if addr == 0:
        raise OSError(errno.EFAULT, os.strerror(errno.EFAULT))
    collected = b""
    while len(collected) < PATH_MAX:
        chunk = read_memory(tid, addr, PAGE - addr % PAGE)
        if not chunk:
            raise OSError(errno.EFAULT, os.strerror(errno.EFAULT))
        end = chunk.find(b"\0")
        if end >= 0:
            return collected + chunk[:end]
        collected += chunk
        addr += len(chunk)
    raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))


def copy_from_user(tid: int, addr: int, size: int) -> bytes | None:
    """The `size` bytes at `addr` in thread `tid`; FsError(EFAULT) where the kernel's copy
    would fault. None when we cannot look (the thread is not visible to us, or reading its
    memory is not permitted): the caller then takes the memory as readable."""
    if addr == 0 or addr + size > ADDRESS_LIMIT:
        raise FsError(errno.EFAULT)
    if tid <= 0:
        return None
    try:
        data = read_memory(tid, addr, size)
    except OSError as exc:
        if exc.errno == errno.EFAULT:
            raise FsError(errno.EFAULT) from None
        log.debug("cannot read the memory of thread %d: %s", tid, exc)
        return None
    if len(data) < size:  # the mapping ends inside the struct
        raise FsError(errno.EFAULT)
    return data


def thread_group(tid: int) -> int:
    """The process (thread group leader) of thread `tid`, for pidfd_open."""
    with open(f"/proc/{tid}/status", "rb") as status:
        for line in status:
            if line.startswith(b"Tgid:"):
                return int(line.split()[1])
    raise OSError(errno.ESRCH, os.strerror(errno.ESRCH))


def take_fd(tid: int, fd: int) -> int:
    """Thread `tid`'s file `fd` as a file of ours (pidfd_getfd): the same open file, offset
    included. OSError: ESRCH when the process is gone, EBADF when it has no such fd, EPERM
    when ptrace access to it is refused."""
    pidfd = os.pidfd_open(thread_group(tid))
    try:
        ours = _libc.syscall(SYS_PIDFD_GETFD, pidfd, ctypes.c_int(fd), 0)
        if ours < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return ours
    finally:
        os.close(pidfd)
