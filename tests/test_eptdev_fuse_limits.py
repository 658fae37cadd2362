"""What stays different on /dev/rpmsgN under FUSE, pinned (issue 11, item 10; conformance.md).

On the board these calls reach drivers/rpmsg/rpmsg_char.c; on a FUSE mount the kernel's VFS
or FUSE client answers them before the emulator sees anything.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import mmap
import os
import select
import termios

import pytest

from rpmsg_ioctl import create_ept

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
MAP_FAILED = ctypes.c_void_p(-1).value


@pytest.fixture
def ept(emu):
    node = create_ept(emu.root, "limits", dst=14)
    fd = os.open(emu.root / "dev" / node, os.O_RDWR)
    yield fd
    os.close(fd)


def test_fionread_is_answered_by_the_vfs(ept: int) -> None:
    """Board: EINVAL (rpmsg_eptdev_ioctl's default). Here fs/ioctl.c `do_vfs_ioctl` answers
    FIONREAD for the regular file FUSE shows, from the size the kernel caches for it (FUSE
    grows it to the end of the largest write), never from the queue. `rpmsg-emu run` answers
    EINVAL at the syscall boundary instead."""
    os.write(ept, b"queued")
    assert select.select([ept], [], [], 10)[0]
    assert os.read(ept, 496) == b"queued"
    count = bytearray(4)
    assert fcntl.ioctl(ept, termios.FIONREAD, count, True) == 0  # no EINVAL
    assert int.from_bytes(count, "little") == len(b"queued")  # yet nothing is queued


def test_pread_is_espipe(ept: int) -> None:
    """Board: pread reads the next message (FMODE_PREAD is set, read_iter ignores the
    position). Here the device is opened as a stream (FOPEN_STREAM): ESPIPE."""
    os.write(ept, b"queued")
    assert select.select([ept], [], [], 10)[0]
    with pytest.raises(OSError) as err:
        os.pread(ept, 496, 0)
    assert err.value.errno == errno.ESPIPE
    assert os.read(ept, 496) == b"queued"


def test_a_private_mmap_succeeds_and_a_shared_one_is_enodev(ept: int) -> None:
    """Board: both ENODEV (rpmsg_eptdev_fops has no .mmap; mm/mmap.c `do_mmap`). FUSE maps a
    direct-I/O file privately (fs/fuse/file.c `fuse_file_mmap`); shared stays ENODEV."""
    addr = libc.mmap(None, mmap.PAGESIZE, mmap.PROT_READ, mmap.MAP_PRIVATE, ept, 0)
    assert addr not in (None, MAP_FAILED)
    assert libc.munmap(addr, mmap.PAGESIZE) == 0
    addr = libc.mmap(None, mmap.PAGESIZE, mmap.PROT_READ, mmap.MAP_SHARED, ept, 0)
    assert addr == MAP_FAILED
    assert ctypes.get_errno() == errno.ENODEV
