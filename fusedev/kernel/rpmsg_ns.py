"""rpmsg_ns: the name service at address 53, turning remote announcements into channels.

Only 40-byte messages count; name[31] is forced to NUL; flag bit 0 means destroy; a duplicate
create is ignored; the sender's header address is ignored. Since 5.11 this is a driver bound
to the `virtioN.rpmsg_ns.53.53` device; before, virtio_rpmsg_bus kept the endpoint internally
(`attach_internal`).
"""
from __future__ import annotations

import logging
import struct
from typing import TYPE_CHECKING

from fusedev.kernel.rpmsg_core import RpmsgChannel, RpmsgDriver
from fusedev.kernel.rpmsg_uapi import RPMSG_ADDR_ANY, RPMSG_NS_ADDR, ChannelInfo, decode_name

if TYPE_CHECKING:
    from fusedev.kernel.virtio_rpmsg_bus import VirtioRpmsg

log = logging.getLogger(__name__)

NS_MSG = struct.Struct("<32sII")
RPMSG_NS_DESTROY = 1


class NameServiceDriver(RpmsgDriver):
    """Bound by driver_override only, as the kernel registers the NS device."""

    def __init__(self) -> None:
        super().__init__("rpmsg_ns")

    def rx(self, channel: RpmsgChannel, data: bytes, src: int) -> None:
        handle_announcement(channel.vrp, data)

    def attach_internal(self, vrp: VirtioRpmsg) -> None:
        vrp.create_ept(RPMSG_NS_ADDR, lambda data, src: handle_announcement(vrp, data))

    def detach_internal(self, vrp: VirtioRpmsg) -> None:
        endpoint = vrp.endpoints.get(RPMSG_NS_ADDR)
        if endpoint is not None:
            endpoint.destroy()


def handle_announcement(vrp: VirtioRpmsg, data: bytes) -> None:
    if len(data) != NS_MSG.size:
        log.warning("%s: malformed ns msg (%d bytes)", vrp.core_name, len(data))
        return
    raw, addr, flags = NS_MSG.unpack(data)
    name = decode_name(raw[:31].split(b"\0", 1)[0])  # raw bytes kept, as the kernel does
    info = ChannelInfo(name, RPMSG_ADDR_ANY, addr)
    if flags & RPMSG_NS_DESTROY:
        if not vrp.release_channel(info):
            log.info("%s: rpmsg_ns: channel %r addr 0x%x not found", vrp.core_name, name, addr)
        return
    if vrp.create_channel(info) is None:
        log.info("%s: rpmsg_ns: channel %r addr 0x%x already exists", vrp.core_name, name,
                 addr)
        return
    log.info("%s: created channel %r addr 0x%x", vrp.core_name, name, addr)
