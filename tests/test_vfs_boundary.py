"""Errnos a program meets at the VFS boundary, as on a board: opening sysfs attributes the
wrong way (fs/kernfs/file.c `kernfs_fop_open`), making names in sysfs (fs/namei.c,
fs/kernfs/dir.c), truncate and fsync on an rpmsg char device (fs/open.c, fs/sync.c), and a
ctrl ioctl with a NULL argument (drivers/rpmsg/rpmsg_ctrl.c `rpmsg_ctrldev_ioctl`)."""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import stat

import pytest

from rpmsg_ioctl import DESTROY_EPT, create_ept

RPROC = "sys/class/remoteproc/remoteproc0"
BIND = "sys/bus/rpmsg/drivers/rpmsg_chrdev/bind"


def errno_of(call, *args) -> int:
    with pytest.raises(OSError) as err:
        call(*args)
    return err.value.errno


RENAME_NOREPLACE = 1
AT_FDCWD = -100


def renameat2(old, new, flags: int) -> int:
    """renameat2(2) through libc; the errno it fails with (0 if it succeeds)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new), flags) == 0:
        return 0
    return ctypes.get_errno()


def test_opening_an_attribute_against_its_mode_is_eacces_even_for_root(emu) -> None:
    assert errno_of(os.open, emu.root / BIND, os.O_RDONLY) == errno.EACCES  # write-only
    assert errno_of(os.open, emu.root / BIND, os.O_RDWR) == errno.EACCES
    assert errno_of(os.open, emu.root / RPROC / "name", os.O_WRONLY) == errno.EACCES
    assert errno_of(os.open, emu.root / RPROC / "name", os.O_RDWR) == errno.EACCES
    fd = os.open(emu.root / RPROC / "state", os.O_RDWR)  # 0644: both ways
    assert os.read(fd, 64) == b"running\n"
    os.close(fd)


def test_making_or_removing_names_in_sysfs_is_eacces_or_eperm(emu) -> None:
    rproc = emu.root / RPROC
    assert errno_of(os.open, rproc / "new", os.O_WRONLY | os.O_CREAT, 0o644) == errno.EACCES
    assert errno_of(os.mkdir, rproc / "new") == errno.EPERM
    assert errno_of(os.mknod, rproc / "new", stat.S_IFREG | 0o644) == errno.EPERM
    assert errno_of(os.symlink, "name", rproc / "new") == errno.EPERM
    assert errno_of(os.link, rproc / "name", rproc / "new") == errno.EPERM
    assert errno_of(os.unlink, rproc / "name") == errno.EPERM
    assert errno_of(os.rmdir, rproc / "power") == errno.EPERM
    assert errno_of(os.rename, rproc / "name", rproc / "new") == errno.EPERM
    assert renameat2(rproc / "name", rproc / "new", RENAME_NOREPLACE) == errno.EINVAL
    assert errno_of(os.mkdir, rproc / "power") == errno.EEXIST  # the VFS sees it first
    assert (rproc / "name").read_text() == "5000000.m4fss\n"
    assert not (rproc / "new").exists()


def test_sysfs_attributes_take_fsync_and_truncate_and_change_nothing(emu) -> None:
    state = emu.root / RPROC / "state"
    fd = os.open(state, os.O_RDWR)
    os.fsync(fd)  # noop_fsync
    os.fdatasync(fd)
    os.ftruncate(fd, 0)  # kernfs_iop_setattr
    os.close(fd)
    os.truncate(state, 0)
    assert state.read_text() == "running\n"


def test_truncate_and_fsync_on_an_eptdev_are_einval(emu) -> None:
    node = emu.root / "dev" / create_ept(emu.root, "sync-me")
    fd = os.open(node, os.O_RDWR | os.O_TRUNC)  # O_TRUNC means nothing to a char device
    assert errno_of(os.ftruncate, fd, 0) == errno.EINVAL
    assert errno_of(os.truncate, node, 0) == errno.EINVAL
    for _ in range(2):  # and not only the first time: the FUSE client never stops asking
        assert errno_of(os.fsync, fd) == errno.EINVAL
        assert errno_of(os.fdatasync, fd) == errno.EINVAL
    os.write(fd, b"still works")
    assert os.read(fd, 496) == b"still works"
    os.close(fd)


def test_ctrl_ioctl_without_argument_bytes_and_a_null_argument_is_efault(emu) -> None:
    ctrl = os.open(emu.root / "dev/rpmsg_ctrl0", os.O_RDWR)
    # DESTROY_EPT is _IO: on the ctrl device the kernel still copies 40 bytes from arg.
    assert errno_of(fcntl.ioctl, ctrl, DESTROY_EPT, 0) == errno.EFAULT
    assert errno_of(fcntl.ioctl, ctrl, 0xB5F1, 1) == errno.EFAULT  # not mapped either
    # A buffer is passed by address: readable, so the copy works and the command is unknown.
    assert errno_of(fcntl.ioctl, ctrl, DESTROY_EPT, bytearray(40)) == errno.EINVAL
    os.close(ctrl)
    # On the eptdev DESTROY takes no argument: 0 is what programs pass.
    node = create_ept(emu.root, "destroy-me")
    fd = os.open(emu.root / "dev" / node, os.O_RDWR)
    assert fcntl.ioctl(fd, DESTROY_EPT, 0) == 0
    os.close(fd)


@pytest.mark.board(kernel="pre-6.1")
def test_pre_6_1_ctrl_ioctl_checks_the_command_first(emu) -> None:
    ctrl = os.open(emu.root / "dev/rpmsg_ctrl0", os.O_RDWR)
    assert errno_of(fcntl.ioctl, ctrl, DESTROY_EPT, 0) == errno.EINVAL
    os.close(ctrl)
