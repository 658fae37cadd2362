"""Reaching into a supervised process: its memory, and its paths as it would resolve them.

The supervisor answers a trapped call on the target's behalf, so it must read the call's
arguments from the target's memory (`process_vm_readv`), write results back
(`process_vm_writev`), and resolve a path relative to the target's root, working directory or
directory fd, through /proc/TID/{root,cwd,fd} (fs/proc/base.c magic links), never its own.
"""
from __future__ import annotations

import ctypes
import errno
import os

PATH_MAX = 4096
PAGE = 4096
AT_FDCWD = -100

_libc = ctypes.CDLL(None, use_errno=True)


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def _transfer(func, pid: int, local: ctypes.Array, remote_addr: int, size: int) -> int:
    local_iov = _Iovec(ctypes.addressof(local), size)
    remote_iov = _Iovec(remote_addr, size)
    done = func(pid, ctypes.byref(local_iov), 1, ctypes.byref(remote_iov), 1, 0)
    if done < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return done


def read_memory(pid: int, addr: int, size: int) -> bytes:
    """Up to `size` bytes at `addr` in `pid` (fewer where the mapping ends)."""
    buf = ctypes.create_string_buffer(size)
    done = _transfer(_libc.process_vm_readv, pid, buf, addr, size)
    return buf.raw[:done]


def write_memory(pid: int, addr: int, data: bytes) -> None:
    """Write all of `data` at `addr` in `pid`; EFAULT if it does not fit the mapping."""
    buf = ctypes.create_string_buffer(data, len(data))
    if _transfer(_libc.process_vm_writev, pid, buf, addr, len(data)) != len(data):
        raise OSError(errno.EFAULT, os.strerror(errno.EFAULT))


def read_path(pid: int, addr: int) -> bytes:
    """The NUL-terminated path at `addr`, read a page at a time (ENAMETOOLONG past PATH_MAX)."""
    if addr == 0:
        raise OSError(errno.EFAULT, os.strerror(errno.EFAULT))
    collected = b""
    while len(collected) < PATH_MAX:
        chunk = read_memory(pid, addr, PAGE - addr % PAGE)
        if not chunk:
            raise OSError(errno.EFAULT, os.strerror(errno.EFAULT))
        end = chunk.find(b"\0")
        if end >= 0:
            return collected + chunk[:end]
        collected += chunk
        addr += len(chunk)
    raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))


def fd_path(tid: int, fd: int) -> str:
    """The target's open file `fd`, as a path that opens or stats the same file."""
    return f"/proc/{tid}/fd/{fd}"


def resolve(tid: int, dirfd: int, path: bytes) -> bytes:
    """`path` as the target resolves it with `dirfd` (AT_FDCWD or an fd), as a path of ours."""
    if path.startswith(b"/"):
        return b"/proc/%d/root%s" % (tid, path)
    base = b"/proc/%d/cwd" % tid if dirfd == AT_FDCWD else os.fsencode(fd_path(tid, dirfd))
    return base + b"/" + path if path else base


def thread_group(tid: int) -> int:
    """The process (thread group leader) of thread `tid`, for pidfd_open."""
    with open(f"/proc/{tid}/status", "rb") as status:
        for line in status:
            if line.startswith(b"Tgid:"):
                return int(line.split()[1])
    raise OSError(errno.ESRCH, os.strerror(errno.ESRCH))
