"""Answers to the calls `rpmsg-emu run` traps: what the board's kernel would have said.

Each answer does the call itself, on the target's behalf and with the target's paths, and
changes only what FUSE cannot make exact:
- stat family on an emulated device node: `S_IFCHR` and `st_rdev` = the sysfs `dev` numbers
  (a board's nodes are devtmpfs char devices, drivers/base/devtmpfs.c);
- getdents64 of an emulated directory: `DT_CHR` for those nodes, and the real type of the
  host entries bind-mounted onto placeholders;
- uname: the kernel profile's release and version, with the host's machine;
- DMA_HEAP_IOCTL_ALLOC / DMA_BUF_IOCTL_SYNC: the DMA-buf heaps (fusedev/cli/dma_heap_answers.py);
- FIONREAD / FIOQSIZE on an emulated node: fs/ioctl.c `do_vfs_ioctl` answers these only for
  regular files; on a char device FIONREAD reaches the driver, whose `unlocked_ioctl` gives
  EINVAL for unknown commands (rpmsg_char.c `rpmsg_eptdev_ioctl`, rpmsg_ctrl.c
  `rpmsg_ctrldev_ioctl`, remoteproc_cdev.c `rproc_device_ioctl`), and FIOQSIZE is ENOTTY.
Everything that is not about an emulated node is CONTINUEd: the kernel runs the call itself.
"""
from __future__ import annotations

import ctypes
import errno
import logging
import os
import stat
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from fusedev.cli import target_process
from fusedev.kernel import uaccess
from fusedev.cli.seccomp_filter import (DMA_BUF_IOCTL_SYNC, DMA_HEAP_IOCTL_ALLOC, FIONREAD,
                                    FIOQSIZE, Arch)
from fusedev.fuse.vfs import Attribute, DeviceFile, Directory

if TYPE_CHECKING:
    from fusedev.cli.dma_heap_answers import DmaHeapAnswers

log = logging.getLogger(__name__)

AT_SYMLINK_NOFOLLOW = 0x100
AT_NO_AUTOMOUNT = 0x800
AT_EMPTY_PATH = 0x1000
DT_CHR = 2
DT_REG = 8
UTS_LEN = 65
STATX_SIZE = 256
# Where struct stat keeps st_dev, st_ino, st_mode and st_rdev (arch/x86 vs asm-generic stat.h)
STAT_LAYOUTS = {"x86_64": (144, 0, 8, 24, 40), "generic": (128, 0, 8, 16, 32)}

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class FdHandover:
    """A file of ours to install in the caller first (SECCOMP_IOCTL_NOTIF_ADDFD): `finish`
    gets the caller's new fd number and gives the reply. The supervisor closes `fd`."""

    fd: int
    cloexec: bool
    finish: Callable[[int], "Reply"]


@dataclass(frozen=True)
class Reply:
    """The supervisor's answer: a value, an errno, or CONTINUE (the kernel runs the call)."""

    value: int = 0
    error: int = 0
    proceed: bool = False
    handover: FdHandover | None = None


CONTINUE = Reply(proceed=True)


class EmulatedNodes:
    """Which inodes of the FUSE mount are the board's device nodes, and their numbers."""

    def __init__(self, root: Directory, fuse_dev: int) -> None:
        self.fuse_dev = fuse_dev
        self.dev_dir = root.makedirs("dev")

    def _dev_entries(self) -> list:
        entries = list(self.dev_dir.children.values())  # one atomic copy under the GIL
        for child in entries[:]:
            if isinstance(child, Directory):
                entries += list(child.children.values())
        return entries

    def node(self, st_dev: int, ino: int) -> DeviceFile | None:
        """The emulated device node at (st_dev, ino), if it is one."""
        if st_dev != self.fuse_dev:
            return None
        for node in self._dev_entries():
            if node.ino == ino and isinstance(node, DeviceFile):
                return node
        return None

    def rdev(self, st_dev: int, ino: int) -> tuple[int, int] | None:
        """(major, minor) when (st_dev, ino) is an emulated character device."""
        if st_dev != self.fuse_dev:
            return None
        for node in self._dev_entries():
            if node.ino == ino and isinstance(node, DeviceFile) and node.rdev is not None:
                return node.rdev
        return None

    def is_placeholder(self, ino: int) -> bool:
        """A host /dev entry's placeholder, with the host's node bind-mounted onto it."""
        return any(node.ino == ino and isinstance(node, Attribute)
                   for node in self._dev_entries())


def _signed(value: int) -> int:
    return ctypes.c_int(value & 0xFFFFFFFF).value


class SyscallAnswers:
    """The handler of each trapped call, by number."""

    def __init__(self, arch: Arch, nodes: EmulatedNodes, release: str, version: str,
                 dma: DmaHeapAnswers | None = None) -> None:
        self.arch = arch
        self.nodes = nodes
        self.dma = dma
        self.release = release.encode()[:UTS_LEN - 1]
        self.version = version.encode()[:UTS_LEN - 1]
        calls = arch.calls
        self.handlers: dict[int, Callable[[int, tuple[int, ...]], Reply]] = {
            calls["newfstatat"]: lambda tid, a: self._stat(tid, _signed(a[0]), a[1], a[2],
                                                           _signed(a[3])),
            calls["fstat"]: lambda tid, a: self._stat(tid, _signed(a[0]), 0, a[1], AT_EMPTY_PATH),
            calls["statx"]: lambda tid, a: self._statx(tid, _signed(a[0]), a[1], _signed(a[2]),
                                                       a[3] & 0xFFFFFFFF, a[4]),
            calls["getdents64"]: lambda tid, a: self._getdents64(tid, _signed(a[0]), a[1],
                                                                 a[2] & 0xFFFFFFFF),
            calls["uname"]: lambda tid, a: self._uname(tid, a[0]),
            arch.sys_ioctl: lambda tid, a: self._ioctl(tid, _signed(a[0]), a[1] & 0xFFFFFFFF,
                                                       a[2]),
        }
        if "stat" in calls:
            self.handlers[calls["stat"]] = lambda tid, a: self._stat(
                tid, target_process.AT_FDCWD, a[0], a[1], 0)
            self.handlers[calls["lstat"]] = lambda tid, a: self._stat(
                tid, target_process.AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW)

    def answer(self, tid: int, nr: int, args: tuple[int, ...]) -> Reply:
        handler = self.handlers.get(nr)
        return handler(tid, args) if handler is not None else CONTINUE

    # ---- stat family ----------------------------------------------------------------------

    def _our_path(self, tid: int, dirfd: int, path_addr: int, flags: int) -> tuple[bytes, int]:
        """The path to stat ourselves and the flags to stat it with."""
        path = b"" if path_addr == 0 else uaccess.read_path(tid, path_addr)
        if not path and not flags & AT_EMPTY_PATH:
            raise OSError(errno.ENOENT, "empty path")  # the kernel says so itself
        ours = target_process.resolve(tid, dirfd, path)
        keep = AT_NO_AUTOMOUNT | (AT_SYMLINK_NOFOLLOW if path else 0)  # fd links are followed
        return ours, flags & keep

    def _stat(self, tid: int, dirfd: int, path_addr: int, buf_addr: int, flags: int) -> Reply:
        try:
            path, our_flags = self._our_path(tid, dirfd, path_addr, flags)
        except OSError:
            return CONTINUE
        size, dev_at, ino_at, mode_at, rdev_at = STAT_LAYOUTS[self.arch.stat_layout]
        buf = ctypes.create_string_buffer(size)
        if _libc.syscall(self.arch.calls["newfstatat"], target_process.AT_FDCWD, path, buf,
                         our_flags) < 0:
            return CONTINUE
        raw = bytearray(buf.raw)
        (st_dev,), (ino,) = struct.unpack_from("=Q", raw, dev_at), struct.unpack_from("=Q", raw,
                                                                                    ino_at)
        rdev = self.nodes.rdev(st_dev, ino)
        if rdev is None:
            return CONTINUE
        (mode,) = struct.unpack_from("=I", raw, mode_at)
        struct.pack_into("=I", raw, mode_at, stat.S_IFCHR | stat.S_IMODE(mode))
        struct.pack_into("=Q", raw, rdev_at, os.makedev(*rdev))
        return self._deliver(tid, buf_addr, bytes(raw))

    def _statx(self, tid: int, dirfd: int, path_addr: int, flags: int, mask: int,
               buf_addr: int) -> Reply:
        try:
            path, our_flags = self._our_path(tid, dirfd, path_addr, flags)
        except OSError:
            return CONTINUE
        buf = ctypes.create_string_buffer(STATX_SIZE)
        if _libc.syscall(self.arch.calls["statx"], target_process.AT_FDCWD, path, our_flags,
                         mask, buf) < 0:
            return CONTINUE
        raw = bytearray(buf.raw)
        (ino,) = struct.unpack_from("=Q", raw, 32)
        dev_major, dev_minor = struct.unpack_from("=II", raw, 136)
        rdev = self.nodes.rdev(os.makedev(dev_major, dev_minor), ino)
        if rdev is None:
            return CONTINUE
        (mode,) = struct.unpack_from("=H", raw, 28)
        struct.pack_into("=H", raw, 28, stat.S_IFCHR | stat.S_IMODE(mode))
        struct.pack_into("=II", raw, 128, *rdev)
        return self._deliver(tid, buf_addr, bytes(raw))

    @staticmethod
    def _deliver(tid: int, addr: int, data: bytes, value: int = 0) -> Reply:
        try:
            uaccess.write_memory(tid, addr, data)
        except OSError:
            return Reply(error=errno.EFAULT)
        return Reply(value=value)

    # ---- directories ----------------------------------------------------------------------

    def _getdents64(self, tid: int, fd: int, dirp: int, count: int) -> Reply:
        try:
            st = os.stat(target_process.fd_path(tid, fd))
        except OSError:
            return CONTINUE
        if st.st_dev != self.nodes.fuse_dev or not stat.S_ISDIR(st.st_mode):
            return CONTINUE
        dup = uaccess.take_fd(tid, fd)  # shares the target's file offset, as its call would
        try:
            buf = ctypes.create_string_buffer(count)
            done = _libc.syscall(self.arch.sys_getdents64, dup, buf, count)
            if done < 0:
                return Reply(error=ctypes.get_errno())
            data = bytearray(buf.raw[:done])
            self._retype_entries(data, dup)
        finally:
            os.close(dup)
        return self._deliver(tid, dirp, bytes(data), value=done)

    def _retype_entries(self, data: bytearray, dirfd: int) -> None:
        """struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name."""
        offset = 0
        while offset < len(data):
            ino, _, reclen, d_type = struct.unpack_from("=QqHB", data, offset)
            if d_type == DT_REG:
                if self.nodes.rdev(self.nodes.fuse_dev, ino) is not None:
                    data[offset + 18] = DT_CHR
                elif self.nodes.is_placeholder(ino):
                    name = bytes(data[offset + 19:offset + reclen]).split(b"\0", 1)[0]
                    try:
                        mode = os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_mode
                        data[offset + 18] = stat.S_IFMT(mode) >> 12  # DT_* = S_IF* >> 12
                    except OSError:
                        pass
            offset += reclen

    # ---- uname, ioctl ---------------------------------------------------------------------

    def _uname(self, tid: int, buf_addr: int) -> Reply:
        buf = ctypes.create_string_buffer(UTS_LEN * 6)
        if _libc.uname(buf) < 0:
            return CONTINUE
        raw = bytearray(buf.raw)
        for field, value in ((2, self.release), (3, self.version)):
            raw[field * UTS_LEN:(field + 1) * UTS_LEN] = value.ljust(UTS_LEN, b"\0")
        return self._deliver(tid, buf_addr, bytes(raw))

    def _ioctl(self, tid: int, fd: int, cmd: int, arg: int) -> Reply:
        if cmd in (DMA_HEAP_IOCTL_ALLOC, DMA_BUF_IOCTL_SYNC):
            return self.dma.ioctl(tid, fd, cmd, arg) if self.dma is not None else CONTINUE
        try:
            st = os.stat(target_process.fd_path(tid, fd))
        except OSError:
            return CONTINUE
        if self.nodes.rdev(st.st_dev, st.st_ino) is None:
            return CONTINUE
        if cmd == FIONREAD:
            return Reply(error=errno.EINVAL)
        if cmd == FIOQSIZE:
            return Reply(error=errno.ENOTTY)
        return CONTINUE
