"""The seccomp filter `rpmsg-emu run` puts on CMD: trap the few calls FUSE cannot make exact.

A classic BPF program (include/uapi/linux/seccomp.h, filter.h) that answers
SECCOMP_RET_USER_NOTIF for the stat family, getdents64, uname, the ioctls the VFS answers
itself (FIONREAD, FIOQSIZE) and the two DMA-buf ioctls a FUSE file cannot serve
(DMA_HEAP_IOCTL_ALLOC returns a new fd; DMA_BUF_IOCTL_SYNC is made on that fd, not on a file
of ours: fusedev/cli/dma_heap_answers.py), and SECCOMP_RET_ALLOW for everything else, so the message path
(read, write, poll, the rpmsg ioctls) never leaves the kernel. It is installed in the child
between fork and exec with SECCOMP_FILTER_FLAG_NEW_LISTENER (kernel/seccomp.c
`seccomp_set_mode_filter`), is inherited by every thread and child of CMD, and survives exec.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
from dataclasses import dataclass

PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_USER_NOTIF = 0x7FC00000

# BPF opcodes (include/uapi/linux/bpf_common.h)
BPF_LD_W_ABS = 0x00 | 0x00 | 0x20
BPF_JEQ_K = 0x05 | 0x10 | 0x00
BPF_RET_K = 0x06 | 0x00

# Offsets in struct seccomp_data: nr, arch, instruction_pointer, args[6]
DATA_NR = 0
DATA_ARCH = 4
DATA_ARG1_LOW = 16 + 8  # low half of args[1] on little-endian machines

FIONREAD = 0x541B
FIOQSIZE = 0x5460
VFS_IOCTLS = (FIONREAD, FIOQSIZE)
DMA_HEAP_IOCTL_ALLOC = 0xC0184800  # _IOWR('H', 0, struct dma_heap_allocation_data)
DMA_BUF_IOCTL_SYNC = 0x40086200  # _IOW('b', 0, struct dma_buf_sync)
TRAPPED_IOCTLS = VFS_IOCTLS + (DMA_HEAP_IOCTL_ALLOC, DMA_BUF_IOCTL_SYNC)


@dataclass(frozen=True)
class Arch:
    """One architecture's audit id, seccomp syscall and the numbers of the trapped calls."""

    name: str
    audit_arch: int
    sys_seccomp: int
    sys_getdents64: int
    calls: dict[str, int]  # trapped call name -> number (ioctl handled apart)
    sys_ioctl: int
    stat_layout: str  # "x86_64" (struct stat of arch/x86) or "generic" (asm-generic/stat.h)


ARCHES = {
    "x86_64": Arch("x86_64", 0xC000003E, 317, 217,
                   {"stat": 4, "fstat": 5, "lstat": 6, "uname": 63, "newfstatat": 262,
                    "statx": 332, "getdents64": 217}, 16, "x86_64"),
    "aarch64": Arch("aarch64", 0xC00000B7, 277, 61,
                    {"getdents64": 61, "newfstatat": 79, "fstat": 80, "uname": 160,
                     "statx": 291}, 29, "generic"),
}


def host_arch() -> Arch:
    """The running machine's architecture; OSError(ENOSYS) where the filter is not written."""
    machine = platform.machine()
    if machine not in ARCHES:
        raise OSError(errno.ENOSYS, f"syscall emulation is not available on {machine}")
    return ARCHES[machine]


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def build_program(arch: Arch) -> bytes:
    """The BPF program: other arches and untrapped calls ALLOW, trapped ones USER_NOTIF.

    0 load arch; 1 wrong arch -> ALLOW; 2 load nr; one JEQ per trapped call -> NOTIF;
    ioctl? else ALLOW; load the command; one JEQ per trapped ioctl -> NOTIF; ALLOW; NOTIF.
    """
    numbers = sorted(set(arch.calls.values()))
    allow = 3 + len(numbers) + 2 + len(TRAPPED_IOCTLS)
    notif = allow + 1

    def jump(pc: int, target: int) -> int:
        return target - pc - 1

    prog = [_insn(BPF_LD_W_ABS, DATA_ARCH), _insn(BPF_JEQ_K, arch.audit_arch, 0, jump(1, allow)),
            _insn(BPF_LD_W_ABS, DATA_NR)]
    for number in numbers:
        prog.append(_insn(BPF_JEQ_K, number, jump(len(prog), notif), 0))
    prog.append(_insn(BPF_JEQ_K, arch.sys_ioctl, 0, jump(len(prog), allow)))
    prog.append(_insn(BPF_LD_W_ABS, DATA_ARG1_LOW))
    for cmd in TRAPPED_IOCTLS:
        prog.append(_insn(BPF_JEQ_K, cmd, jump(len(prog), notif), 0))
    assert len(prog) == allow
    prog += [_insn(BPF_RET_K, SECCOMP_RET_ALLOW), _insn(BPF_RET_K, SECCOMP_RET_USER_NOTIF)]
    return b"".join(prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Installer:
    """Everything the child needs, made before fork: the child only makes two syscalls."""

    def __init__(self, arch: Arch) -> None:
        self.arch = arch
        program = build_program(arch)
        self._buffer = ctypes.create_string_buffer(program, len(program))
        self._fprog = _SockFprog(len(program) // 8, ctypes.addressof(self._buffer))
        self._libc = ctypes.CDLL(None, use_errno=True)

    def install(self) -> int:
        """In the child: install the filter, return the listener fd (OSError if refused).

        Without CAP_SYS_ADMIN the kernel wants no_new_privs first (`seccomp_prepare_filter`);
        root keeps setuid programs working by not setting it.
        """
        fd = self._seccomp()
        if fd < 0 and ctypes.get_errno() == errno.EACCES:
            self._libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            fd = self._seccomp()
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"cannot install the syscall filter: {os.strerror(err)}")
        return fd

    def _seccomp(self) -> int:
        return self._libc.syscall(self.arch.sys_seccomp, SECCOMP_SET_MODE_FILTER,
                                  SECCOMP_FILTER_FLAG_NEW_LISTENER, ctypes.byref(self._fprog))
