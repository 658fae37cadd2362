"""virtio_rpmsg_bus: the virtio device that carries rpmsg over the core's vrings.

It owns the Linux side of the transport (the remote core's shared memory and mailbox, reached
only through `HostTransport`), the per-device address space (IDR: explicit addresses exactly,
ANY → lowest free ≥ 1024, freed addresses reused at once), sending with the kernel's checks
and TX back-pressure, dispatch of received messages by destination address, and the child
rpmsg devices: the control device, the name-service device and the channels.
"""
from __future__ import annotations

import errno
import logging
import struct
from typing import TYPE_CHECKING

import trio

from fusedev.fuse.endpoint_table import EndpointTable
from fusedev.fuse.fileops import FsError, WouldBlock
from fusedev.kernel.driver_core import Device
from fusedev.kernel.ida import Ida
from fusedev.kernel.rpmsg_core import Endpoint, RpmsgChannel, RxCallback
from fusedev.kernel.rpmsg_uapi import (RPMSG_ADDR_ANY, RPMSG_NS_ADDR, RPMSG_RESERVED_ADDRESSES,
                                       ChannelInfo, encode_name)
from fusedev.fuse.waitqueue import WaitQueue

if TYPE_CHECKING:
    from remote_fw import HostTransport

    from fusedev.kernel.kernel import Kernel

log = logging.getLogger(__name__)

VIRTIO_ID_RPMSG = 7
TX_TIMEOUT = 15.0  # seconds a blocking send waits for a TX buffer
# The kernel leaks -ERESTARTSYS (errno 512) when that wait times out. FUSE cannot carry an
# errno ≥ 512, so the client gets ETIMEDOUT instead (docs/conformance.md, item 10).
TX_TIMEOUT_ERRNO = errno.ETIMEDOUT
_NS_MSG = struct.Struct("<32sII")


class VirtioRpmsg:
    """One `virtioN` device bound to virtio_rpmsg_bus."""

    def __init__(self, kernel: Kernel, core_name: str, host: HostTransport, parent: Device
                 ) -> None:
        self.kernel = kernel
        self.core_name = core_name
        self.host = host
        self.mtu = host.mtu
        self.index = kernel.virtio_ida.alloc()
        self.dev = Device(f"virtio{self.index}", parent=parent, bus=kernel.virtio_bus,
                          modalias=f"virtio:d{VIRTIO_ID_RPMSG:08d}v00000000", data=self)
        self.dev.attribute("device", lambda: f"0x{VIRTIO_ID_RPMSG:04x}\n")
        self.dev.attribute("vendor", lambda: "0x0000\n")
        # virtio.c status_show: ACKNOWLEDGE|DRIVER|DRIVER_OK; no FEATURES_OK without VERSION_1
        self.dev.attribute("status", lambda: "0x00000007\n")
        self.dev.attribute("features", lambda: "1" + "0" * 63 + "\n")
        self.dev.attribute("modalias", lambda: f"virtio:d{VIRTIO_ID_RPMSG:08d}v00000000\n")
        self.addresses = Ida(0)
        self.endpoints: dict[int, Endpoint] = {}
        self.channels: list[RpmsgChannel] = []
        self.txq = WaitQueue()
        self.scope = trio.CancelScope()
        host.on_receive = self._receive
        host.on_tx_complete = self.txq.wake_up
        # Messages for eptdevs are delivered in C by Linux's mailbox ISR (endpoint_table.c);
        # the others, and every one while the trace has readers, come to `_receive`.
        self.fast_rx = EndpointTable(kernel.trace.active)
        host.set_sink(self.fast_rx.address, self.fast_rx, self.fast_rx.wake_queued)

    # ---- life cycle ----------------------------------------------------------------------

    def probe(self) -> None:
        """virtio_rpmsg_probe: register the device, then the ctrl and name-service devices."""
        self.kernel.core.device_add(self.dev)
        if not self.kernel.profile.ctrl_under_channel:
            self.add_channel(ChannelInfo("rpmsg_ctrl", 0, 0), override="rpmsg_ctrl")
        if self.kernel.profile.ns_device:
            self.add_channel(ChannelInfo("rpmsg_ns", RPMSG_NS_ADDR, RPMSG_NS_ADDR),
                             override="rpmsg_ns")
        else:
            self.kernel.ns_driver.attach_internal(self)

    async def run(self) -> None:
        """The mailbox interrupt handler for this device, until `remove()`."""
        with self.scope:
            await self.host.run(self.kernel.irq_controller)

    def remove(self) -> None:
        """virtio_rpmsg_remove: every child rpmsg device goes, then the virtio device."""
        for channel in reversed(self.channels):
            self.kernel.core.device_del(channel.dev)
        self.channels.clear()
        self.kernel.ns_driver.detach_internal(self)
        self.txq.wake_up()
        self.kernel.core.device_del(self.dev)
        self.kernel.virtio_ida.free(self.index)
        # The mailbox ISR may still be called before its task sees the cancellation.
        self.host.on_receive = None
        self.host.on_tx_complete = None
        self.host.set_sink(0, None, None)
        self.scope.cancel()

    # ---- channels ------------------------------------------------------------------------

    def add_channel(self, info: ChannelInfo, *, announce: bool = False,
                    override: str | None = None) -> RpmsgChannel:
        channel = RpmsgChannel(self, info, announce=announce, override=override)
        self.channels.append(channel)
        self.kernel.core.device_add(channel.dev)
        return channel

    def find_channel(self, info: ChannelInfo) -> RpmsgChannel | None:
        return next((c for c in self.channels if c.matches(info)), None)

    def create_channel(self, info: ChannelInfo) -> RpmsgChannel | None:
        """rpmsg_create_channel; None when a matching channel already exists."""
        if self.find_channel(info) is not None:
            return None
        return self.add_channel(info, announce=info.src != RPMSG_ADDR_ANY)

    def release_channel(self, info: ChannelInfo) -> bool:
        channel = self.find_channel(info)
        if channel is None:
            return False
        self.channels.remove(channel)
        self.kernel.core.device_del(channel.dev)
        return True

    def announce(self, channel: RpmsgChannel, create: bool) -> None:
        """Tell the remote about a Linux-side channel (NS create or destroy)."""
        message = _NS_MSG.pack(encode_name(channel.name)[:31], channel.src, 0 if create else 1)
        if not self.host.send(channel.src, RPMSG_NS_ADDR, message):
            log.warning("%s: no TX buffer for the name-service announcement of %s",
                        self.core_name, channel.name)

    # ---- endpoints -----------------------------------------------------------------------

    def create_ept(self, addr: int, callback: RxCallback) -> Endpoint:
        """__rpmsg_create_ept: ANY → lowest free ≥ 1024; an address in use → EINVAL."""
        if addr == RPMSG_ADDR_ANY:
            addr = self.addresses.alloc(RPMSG_RESERVED_ADDRESSES)
        elif not self.addresses.alloc_exact(addr):
            raise FsError(errno.EINVAL, f"rpmsg address {addr} is in use")
        endpoint = Endpoint(self, addr, callback)
        self.endpoints[addr] = endpoint
        return endpoint

    def destroy_ept(self, endpoint: Endpoint) -> None:
        if self.endpoints.get(endpoint.addr) is endpoint:
            del self.endpoints[endpoint.addr]
            self.addresses.free(endpoint.addr)

    # ---- data path -----------------------------------------------------------------------

    def send(self, src: int, dst: int, data: bytes, nonblock: bool) -> int:
        """rpmsg_send_offchannel_raw, as rpmsg_char sees it."""
        if src == RPMSG_ADDR_ANY or dst == RPMSG_ADDR_ANY:
            raise FsError(errno.EINVAL)
        if len(data) > self.mtu:
            raise FsError(errno.EMSGSIZE)
        host = self.host
        if not host.can_send():
            if nonblock:
                raise FsError(errno.EAGAIN)
            raise WouldBlock(self.txq, timeout=TX_TIMEOUT, timeout_errno=TX_TIMEOUT_ERRNO)
        # Traced before the kick, which the remote (another thread) may answer at once.
        self.kernel.trace.record(self.core_name, "tx", src, dst, data)
        host.send(src, dst, data)
        return len(data)

    def _receive(self, src: int, dst: int, data: bytes) -> None:
        self.kernel.trace.record(self.core_name, "rx", src, dst, data)
        endpoint = self.endpoints.get(dst)
        if endpoint is None:
            log.debug("%s: msg received with no recipient (dst %d)", self.core_name, dst)
            return
        endpoint.callback(data, src)
