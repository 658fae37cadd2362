"""The rpmsg_chrdev driver: an eptdev for each channel whose name it knows.

Since 5.18 it binds `rpmsg-raw` (and, from 6.18 or on TI's kernel, `rpmsg_chrdev`) channels
and gives each an eptdev on the channel's default endpoint. TI's 5.10 kernel instead hung the
control device `rpmsg_ctrlN` under the `rpmsg_chrdev` channel (profile `ctrl_under_channel`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from fusedev.kernel.rpmsg_char import Eptdev
from fusedev.kernel.rpmsg_core import RpmsgChannel, RpmsgDriver
from fusedev.kernel.rpmsg_ctrl import RpmsgCtrl
from fusedev.kernel.rpmsg_uapi import ChannelInfo

if TYPE_CHECKING:
    from fusedev.kernel.kernel import Kernel


class ChrdevDriver(RpmsgDriver):
    """The rpmsg_chrdev driver: an eptdev (or, before 5.18, a ctrl device) per channel."""

    def __init__(self, kernel: Kernel) -> None:
        super().__init__("rpmsg_chrdev")
        self.kernel = kernel
        profile = kernel.profile
        self.ctrl_mode = profile.ctrl_under_channel
        self.id_table = frozenset({"rpmsg_chrdev"}) if self.ctrl_mode \
            else profile.auto_eptdev_names
        self.has_callback = not self.ctrl_mode
        self.eptdevs: dict[int, Eptdev] = {}
        self.ctrls: dict[int, RpmsgCtrl] = {}

    def probe_channel(self, channel: RpmsgChannel) -> None:
        if self.ctrl_mode:
            ctrl = RpmsgCtrl(self.kernel, channel)
            ctrl.register()
            self.ctrls[id(channel)] = ctrl
            return
        assert channel.ept is not None
        info = ChannelInfo(channel.name, channel.ept.addr, channel.dst)
        eptdev = Eptdev(self.kernel, channel.vrp, channel.dev, info, default_ept=channel.ept)
        eptdev.register()
        self.eptdevs[id(channel)] = eptdev

    def rx(self, channel: RpmsgChannel, data: bytes, src: int) -> None:
        eptdev = self.eptdevs.get(id(channel))
        if eptdev is not None:
            eptdev.receive(data, src)

    def remove_channel(self, channel: RpmsgChannel) -> None:
        eptdev = self.eptdevs.pop(id(channel), None)
        if eptdev is not None:
            eptdev.destroy()
        ctrl = self.ctrls.pop(id(channel), None)
        if ctrl is not None:
            ctrl.remove()
