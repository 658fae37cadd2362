"""rpmsg_core: endpoints, channel devices on the rpmsg bus, and the rpmsg driver glue.

A channel is a bus device named `<virtio>.<name>.<src>.<dst>` (printed with %d, so a remote
announced channel keeps `-1` in its name; a `/` in the name becomes `!` there, while the
`name` attribute keeps it: rpmsg_core.c `rpmsg_register_device` → `dev_set_name`). When a
driver with a receive callback binds, the core creates the channel's default endpoint and the
channel's `src` becomes its address; announced channels (src given by Linux) send a
name-service message to the remote.
"""
from __future__ import annotations

import errno
import logging
from typing import TYPE_CHECKING, Callable

from fusedev.fuse.fileops import FsError
from fusedev.kernel.driver_core import (Device, Driver, driver_set_override,
                                       kobject_name)
from fusedev.kernel.rpmsg_uapi import RPMSG_ADDR_ANY, ChannelInfo, as_signed, encode_name

if TYPE_CHECKING:
    from fusedev.kernel.virtio_rpmsg_bus import VirtioRpmsg

log = logging.getLogger(__name__)

RxCallback = Callable[[bytes, int], None]


class Endpoint:
    """A local rpmsg address with a receive callback (`struct rpmsg_endpoint`)."""

    __slots__ = ("addr", "callback", "vrp")

    def __init__(self, vrp: VirtioRpmsg, addr: int, callback: RxCallback) -> None:
        self.vrp = vrp
        self.addr = addr
        self.callback = callback

    def sendto(self, dst: int, data: bytes, nonblock: bool) -> int:
        return self.vrp.send(self.addr, dst, data, nonblock)

    def destroy(self) -> None:
        self.vrp.destroy_ept(self)


class RpmsgChannel:
    """An rpmsg bus device (`struct rpmsg_device`)."""

    def __init__(self, vrp: VirtioRpmsg, info: ChannelInfo, *, announce: bool = False,
                 override: str | None = None) -> None:
        self.vrp = vrp
        self.name = info.name
        self.src = info.src
        self.dst = info.dst
        self.announce = announce
        self.ept: Endpoint | None = None
        dev_name = f"{vrp.dev.name}.{info.name}.{as_signed(info.src)}.{as_signed(info.dst)}"
        self.dev = Device(kobject_name(dev_name), parent=vrp.dev, bus=vrp.kernel.rpmsg_bus,
                          modalias=f"rpmsg:{info.name}", driver_override=override, data=self)
        self.dev.attribute("name", lambda: encode_name(self.name) + b"\n")
        self.dev.attribute("src", lambda: f"0x{self.src:x}\n")
        self.dev.attribute("dst", lambda: f"0x{self.dst:x}\n")
        self.dev.attribute("announce", lambda: "true\n" if self.announce else "false\n")
        self.dev.attribute("modalias", lambda: b"rpmsg:" + encode_name(self.name) + b"\n")
        self.dev.attribute("driver_override", self._show_override, self._store_override, 0o644)

    def matches(self, info: ChannelInfo) -> bool:
        """rpmsg_device_match: same name, addresses equal or ANY on either side."""
        return (self.name == info.name
                and (info.src == RPMSG_ADDR_ANY or info.src == self.src)
                and (info.dst == RPMSG_ADDR_ANY or info.dst == self.dst))

    def _show_override(self) -> str:
        return f"{self.dev.driver_override or '(null)'}\n"

    def _store_override(self, data: bytes) -> None:
        """rpmsg_core.c `driver_override_store` → `driver_set_override` (v5.19+)."""
        limit = self.vrp.kernel.profile.version >= (5, 19)
        self.dev.driver_override = driver_set_override(data, length_limit=limit)


class RpmsgDriver(Driver):
    """An rpmsg driver: `match` by id table (or override), endpoint set up around probe."""

    id_table: frozenset[str] = frozenset()
    has_callback = True

    def match(self, dev: Device) -> bool:
        channel = dev.data
        return isinstance(channel, RpmsgChannel) and channel.name in self.id_table

    def probe(self, dev: Device) -> None:
        channel: RpmsgChannel = dev.data  # type: ignore[assignment]
        if self.has_callback:
            vrp = channel.vrp
            try:
                channel.ept = vrp.create_ept(channel.src,
                                             lambda data, src: self.rx(channel, data, src))
            except FsError:
                # rpmsg_dev_probe: "failed to create endpoint" (an explicit src in use)
                raise FsError(errno.ENOMEM) from None
            channel.src = channel.ept.addr
        try:
            self.probe_channel(channel)
        except BaseException:
            self._drop_endpoint(channel)
            raise
        if channel.announce and channel.ept is not None:
            channel.vrp.announce(channel, create=True)

    def remove(self, dev: Device) -> None:
        channel: RpmsgChannel = dev.data  # type: ignore[assignment]
        self.remove_channel(channel)
        if channel.announce and channel.ept is not None:
            channel.vrp.announce(channel, create=False)
        self._drop_endpoint(channel)

    @staticmethod
    def _drop_endpoint(channel: RpmsgChannel) -> None:
        if channel.ept is not None:
            channel.ept.destroy()
            channel.ept = None

    def probe_channel(self, channel: RpmsgChannel) -> None:
        """The driver's own probe."""

    def remove_channel(self, channel: RpmsgChannel) -> None:
        """The driver's own remove."""

    def rx(self, channel: RpmsgChannel, data: bytes, src: int) -> None:
        """A message for the channel's default endpoint."""
