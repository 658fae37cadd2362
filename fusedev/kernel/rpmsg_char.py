"""rpmsg_char: the endpoint device /dev/rpmsgN ("eptdev").

An eptdev comes from RPMSG_CREATE_EPT_IOCTL on a control device (its endpoint exists only
while the device is open) or from a channel the rpmsg_chrdev driver binds (it reuses the
channel's default endpoint, which keeps receiving while the device is closed). Semantics
follow reference/linux-rpmsg-semantics.md §2 item by item.
"""
from __future__ import annotations

import errno
import logging
import struct
from typing import TYPE_CHECKING

from fusedev.fuse.fileops import (POLLERR, POLLIN, POLLRDNORM, FileOperations, FsError, OpenFile,
                             PollTable, WouldBlock)
from fusedev.fuse.message_queue import MessageQueue
from fusedev.kernel.driver_core import Device
from fusedev.kernel.ida import HeldNumbers
from fusedev.kernel.rpmsg_core import Endpoint, RpmsgChannel
from fusedev.kernel.rpmsg_uapi import (RPMSG_ADDR_ANY, RPMSG_DESTROY_EPT_IOCTL,
                                       RPMSG_GET_OUTGOING_FLOWCONTROL,
                                       RPMSG_SET_INCOMING_FLOWCONTROL, ChannelInfo, as_signed,
                                       encode_name)
from fusedev.fuse.waitqueue import WaitQueue

if TYPE_CHECKING:
    from fusedev.kernel.kernel import Kernel
    from fusedev.kernel.virtio_rpmsg_bus import VirtioRpmsg

log = logging.getLogger(__name__)


class Eptdev(FileOperations):
    """One `rpmsgN` device and its file operations."""

    def __init__(self, kernel: Kernel, vrp: VirtioRpmsg, parent: Device, info: ChannelInfo,
                 default_ept: Endpoint | None = None, rpdev: RpmsgChannel | None = None
                 ) -> None:
        self.kernel = kernel
        self.vrp = vrp
        # Before 5.13 a write is `rpmsg_send(eptdev->ept)`: virtio_rpmsg_send sends to
        # `rpdev->dst`, the destination of the channel the ctrl device hangs on (eptdev->rpdev),
        # not to this eptdev's dst (kernel profile `eptdev_sends_to_channel`).
        self.send_via = rpdev if kernel.profile.eptdev_sends_to_channel else None
        self.name = info.name
        self.src = info.src
        self.dst = info.dst
        self.default_ept = default_ept
        self.ept: Endpoint | None = None  # bound while open, as eptdev->ept
        # The skb queue, and the READs waiting on it, in C: a message that arrives while a
        # READ waits answers it there. `readq` wakes pollers, and readers that wait in Python
        # (while the engine holds its replies).
        self.queue = MessageQueue()
        self.readq = WaitQueue()
        self.queue.on_queued = self._wake_readers
        self.opened: OpenFile | None = None
        self.gone = False
        self.on_destroy: list = []
        self.numbers = HeldNumbers(kernel.ept_ida, kernel.char_minors)
        self.dev = Device(f"rpmsg{self.numbers.index}", parent=parent, cls=kernel.rpmsg_class,
                          devt=(kernel.char_major, self.numbers.minor), fops=self, data=self)
        self.dev.attribute("name", lambda: encode_name(self.name) + b"\n")
        self.dev.attribute("src", lambda: f"{as_signed(self.src)}\n")
        self.dev.attribute("dst", lambda: f"{as_signed(self.dst)}\n")

    def register(self) -> None:
        self.kernel.core.device_add(self.dev)

    def receive(self, data: bytes, src: int) -> None:
        """The endpoint callback (rpmsg_ept_cb): the oldest waiting READ gets the message,
        else it is queued without limit and pollers and other readers are woken. While
        bound, Linux's ISR in C does this itself (endpoint_table.c), then `_wake_readers`."""
        if not self.queue.push(data):
            self._wake_readers()

    def _wake_readers(self) -> None:
        if self.readq.active():
            self.readq.wake_up()

    def destroy(self) -> None:
        """rpmsg_chrdev_eptdev_destroy: readers get EPIPE, the nodes go at once."""
        if self.gone:
            return
        self.gone = True
        self._unbind()
        self.queue.close()  # every waiting READ: EPIPE
        self.readq.wake_up()
        self.kernel.core.device_del(self.dev)
        for callback in self.on_destroy:
            callback(self)
        self.numbers.put()

    # ---- file operations -----------------------------------------------------------------

    def open(self, file: OpenFile) -> None:
        if self.ept is not None:
            raise FsError(errno.EBUSY)
        if self.gone:
            raise FsError(self.kernel.profile.open_after_destroy_errno)
        if self.default_ept is not None:
            self.ept = self.default_ept
        else:
            self.ept = self.vrp.create_ept(self.src, self.receive)
            if self.src == RPMSG_ADDR_ANY and self.kernel.profile.eptdev_src_shows_address:
                self.src = self.ept.addr  # TI vendor kernel; mainline keeps -1
        self.opened = file
        self.queue.bind()
        self._bind_c_path()
        self.numbers.get()

    def release(self, file: OpenFile) -> None:
        if self.opened is not file:
            return
        self._unbind()
        self.queue.release()  # unbound, messages purged (skb_queue_purge)
        self.opened = None
        self.numbers.put()

    def _unbind(self) -> None:
        """Drop the bound endpoint; a channel's default endpoint lives on with the channel."""
        if self.ept is not None:
            self.vrp.fast_rx.remove(self.ept.addr)
            self.queue.unbind_tx()
            if self.ept is not self.default_ept:
                self.ept.destroy()
        self.ept = None

    def _bind_c_path(self) -> None:
        """While bound, this endpoint's messages and writes take Linux's C path when they can
        (endpoint_table.c, eptdev_write.c): the same dst and src as `receive` and `write`."""
        assert self.ept is not None
        host = self.vrp.host
        dst = self.dst if self.send_via is None else self.send_via.dst
        self.queue.bind_tx(host.c_send, host.c_host, host, self.ept.addr, dst,
                           self.kernel.trace.active)
        self.vrp.fast_rx.add(self.ept.addr, self.queue)

    def message_queue(self, file: OpenFile) -> MessageQueue:
        return self.queue

    def read(self, file: OpenFile, size: int, flags: int) -> bytes:
        """rpmsg_eptdev_read_iter, for the READs the engine does not answer in C."""
        if self.ept is None:
            raise FsError(errno.EPIPE)
        data = self.queue.pop(size)
        if data is None:
            if flags & 0o4000:  # O_NONBLOCK
                raise FsError(errno.EAGAIN)
            raise WouldBlock(self.readq)
        return data

    def write(self, file: OpenFile, data: bytes, flags: int) -> int:
        if self.ept is None:
            raise FsError(errno.EPIPE)
        dst = self.dst if self.send_via is None else self.send_via.dst
        return self.ept.sendto(dst, data, bool(flags & 0o4000))

    def poll(self, file: OpenFile, table: PollTable) -> int:
        if self.ept is None:
            return POLLERR
        table.wait_on(self.readq)
        return POLLIN | POLLRDNORM if len(self.queue) else 0

    def ioctl(self, file: OpenFile, cmd: int, arg: int, data: bytes) -> tuple[int, bytes]:
        profile = self.kernel.profile
        if cmd == RPMSG_DESTROY_EPT_IOCTL:
            if self.default_ept is not None:
                raise FsError(errno.EINVAL)  # a channel's eptdev goes with its channel
            self.destroy()
            return 0, b""
        if cmd == RPMSG_GET_OUTGOING_FLOWCONTROL and profile.flow_control_ioctls:
            return 0, struct.pack("=i", 0)  # virtio never restricts the remote's flow
        if cmd == RPMSG_SET_INCOMING_FLOWCONTROL and profile.flow_control_ioctls:
            if arg > 1 or self.ept is None:
                raise FsError(errno.EINVAL)
            raise FsError(errno.EOPNOTSUPP)  # virtio has no set_flow_control
        raise FsError(errno.EINVAL)

