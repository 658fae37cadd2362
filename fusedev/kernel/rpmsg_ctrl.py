"""rpmsg_ctrl: the control device /dev/rpmsg_ctrlN and its driver.

Any number of opens; no read/write (EINVAL), poll always ready; the ioctls create endpoint
devices (CREATE_EPT) and channels (CREATE_DEV/RELEASE_DEV). The new /dev/rpmsgN and its sysfs
directory exist before the ioctl returns, as TI's library relies on.
"""
from __future__ import annotations

import errno
import logging
from typing import TYPE_CHECKING

from fusedev.fuse.fileops import FileOperations, FsError, OpenFile
from fusedev.kernel.driver_core import Device
from fusedev.kernel.ida import HeldNumbers
from fusedev.kernel.rpmsg_char import Eptdev
from fusedev.kernel.rpmsg_core import RpmsgChannel, RpmsgDriver
from fusedev.kernel.rpmsg_uapi import (ENDPOINT_INFO_SIZE, RPMSG_CREATE_DEV_IOCTL,
                                       RPMSG_CREATE_EPT_IOCTL, RPMSG_RELEASE_DEV_IOCTL,
                                       ChannelInfo)
from fusedev.kernel.uaccess import copy_from_user

if TYPE_CHECKING:
    from fusedev.kernel.kernel import Kernel

log = logging.getLogger(__name__)


class RpmsgCtrl(FileOperations):
    """One `rpmsg_ctrlN` device, the parent of the eptdevs it creates."""

    def __init__(self, kernel: Kernel, channel: RpmsgChannel) -> None:
        self.kernel = kernel
        self.channel = channel
        self.vrp = channel.vrp
        self.eptdevs: list[Eptdev] = []
        self.gone = False
        self.numbers = HeldNumbers(kernel.ctrl_ida, kernel.ctrl_minors)
        self.dev = Device(f"rpmsg_ctrl{self.numbers.index}", parent=channel.dev,
                          cls=kernel.rpmsg_class, devt=(kernel.ctrl_major, self.numbers.minor),
                          fops=self, data=self)

    def register(self) -> None:
        self.kernel.core.device_add(self.dev)

    def remove(self) -> None:
        """rpmsg_ctrldev_remove: every child eptdev is destroyed, then the node goes."""
        for eptdev in list(self.eptdevs):
            eptdev.destroy()
        self.gone = True
        self.kernel.core.device_del(self.dev)
        self.numbers.put()

    def open(self, file: OpenFile) -> None:
        self.numbers.get()

    def release(self, file: OpenFile) -> None:
        self.numbers.put()

    def ioctl(self, file: OpenFile, cmd: int, arg: int, data: bytes) -> tuple[int, bytes]:
        # rpmsg_ctrl.c `rpmsg_ctrldev_ioctl`: since CREATE_DEV (5.18) the 40-byte struct is
        # copied from `arg` before cmd is looked at, so an unreadable arg is EFAULT for any
        # cmd; before, an unknown cmd was EINVAL first. FUSE copies those 40 bytes only for
        # a command whose _IOC encoding says so (and faults for us); for any other we read
        # them from the caller ourselves.
        if len(data) != ENDPOINT_INFO_SIZE:
            if self.kernel.profile.create_dev_ioctls:
                copy_from_user(file.caller, arg, ENDPOINT_INFO_SIZE)
            raise FsError(errno.EINVAL)
        if self.gone:
            raise FsError(errno.ENXIO)
        info = ChannelInfo.from_endpoint_info(data)
        if cmd == RPMSG_CREATE_EPT_IOCTL:
            eptdev = Eptdev(self.kernel, self.vrp, self.dev, info, rpdev=self.channel)
            eptdev.on_destroy.append(self.eptdevs.remove)
            self.eptdevs.append(eptdev)
            eptdev.register()
            return 0, b""
        if self.kernel.profile.create_dev_ioctls:
            if cmd == RPMSG_CREATE_DEV_IOCTL:
                if self.vrp.create_channel(info) is None:
                    raise FsError(errno.ENXIO)
                return 0, b""
            if cmd == RPMSG_RELEASE_DEV_IOCTL:
                if not self.vrp.release_channel(info):
                    raise FsError(errno.EINVAL)
                return 0, b""
        raise FsError(errno.EINVAL)


class CtrlDriver(RpmsgDriver):
    """Binds the `virtioN.rpmsg_ctrl.0.0` device (by driver_override, as the kernel does)."""

    has_callback = False

    def __init__(self, kernel: Kernel) -> None:
        super().__init__("rpmsg_ctrl")
        self.kernel = kernel
        self.ctrls: dict[int, RpmsgCtrl] = {}

    def probe_channel(self, channel: RpmsgChannel) -> None:
        ctrl = RpmsgCtrl(self.kernel, channel)
        ctrl.register()
        self.ctrls[id(channel)] = ctrl

    def remove_channel(self, channel: RpmsgChannel) -> None:
        ctrl = self.ctrls.pop(id(channel), None)
        if ctrl is not None:
            ctrl.remove()
