"""File operations of device files, in the shape of the kernel's `struct file_operations`.

A driver gives each device node a `FileOperations` object; the FUSE engine dispatches open,
read, write, poll, ioctl and release to it without knowing what the device is. Operations are
synchronous, as the fast path should be: an operation that has to wait raises `WouldBlock`
naming the wait queue to sleep on, and the engine sleeps there and calls it again, which is
the kernel's `wait_event_interruptible` loop. A signal to the waiting client interrupts the
sleep and the client gets EINTR.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fusedev.fuse.waitqueue import WaitQueue

if TYPE_CHECKING:
    from fusedev.fuse.message_queue import MessageQueue

POLLIN = 0x001
POLLPRI = 0x002
POLLOUT = 0x004
POLLERR = 0x008
POLLHUP = 0x010
POLLRDNORM = 0x040
POLLWRNORM = 0x100
DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM


class FsError(OSError):
    """An errno for the client: raised by drivers, replied by the engine."""

    def __init__(self, err: int, message: str = "") -> None:
        super().__init__(err, message or os.strerror(err))


class WouldBlock(Exception):
    """The operation cannot complete now; sleep on `queue` and call it again.

    `timeout` bounds the sleep (seconds); when it expires the client gets `timeout_errno`.
    """

    def __init__(self, queue: WaitQueue, timeout: float | None = None,
                 timeout_errno: int = errno.ETIMEDOUT) -> None:
        super().__init__()
        self.queue = queue
        self.timeout = timeout
        self.timeout_errno = timeout_errno


@dataclass(eq=False)
class OpenFile:
    """One open file description (the kernel's `struct file`)."""

    node: Any
    flags: int
    caller: int = 0  # thread id of the request being served, for copy_from_user (uaccess)


class PollTable:
    """What `poll` registers its wait queues with (the kernel's `poll_table`)."""

    __slots__ = ("queues",)

    def __init__(self) -> None:
        self.queues: list[WaitQueue] = []

    def wait_on(self, queue: WaitQueue) -> None:
        self.queues.append(queue)


class FileOperations:
    """Default operations: what the VFS does when a driver leaves an op out.

    A driver subclasses this and overrides what its device supports. `flags` passed to read
    and write are the file's current flags (fcntl(F_SETFL) takes effect at once).
    """

    def open(self, file: OpenFile) -> None:
        """Called on open(); raise FsError to refuse."""

    def read(self, file: OpenFile, size: int, flags: int) -> bytes:
        raise FsError(errno.EINVAL)

    def write(self, file: OpenFile, data: bytes, flags: int) -> int:
        raise FsError(errno.EINVAL)

    def poll(self, file: OpenFile, table: PollTable) -> int:
        return DEFAULT_POLLMASK

    def ioctl(self, file: OpenFile, cmd: int, arg: int, data: bytes) -> tuple[int, bytes]:
        """Return (result, output bytes). Input bytes are those the _IOC encoding carries."""
        raise FsError(errno.ENOTTY)

    def release(self, file: OpenFile) -> None:
        """Called when the last reference to the open file goes."""

    def message_queue(self, file: OpenFile) -> MessageQueue | None:
        """The queue whose messages this file's reads return one by one, if the driver keeps
        one (`MessageQueue`): the engine then answers those reads in C, not through `read`."""
        return None
