"""An open endpoint device: one write is one message, one read returns one message.

`fd` and `endpt` mirror TI's `rpmsg_char_dev_t`. The file descriptor is closed only once no
send/recv is still using it, so a close from another thread can never let a blocked reader touch
a recycled descriptor; DESTROY_EPT wakes such readers with EPIPE.
"""

import contextlib
import errno
import logging
import math
import os
import select
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .eptdev import destroy_eptdev
from .errors import RpmsgCharError, RpmsgTimeout
from .sysfs_walk import Route
from .uapi import RPMSG_MAX_PAYLOAD

log = logging.getLogger(__name__)

_HINTS = {
    errno.EPIPE: "the endpoint was destroyed (remote core stopped or crashed?)",
    errno.EMSGSIZE: f"a message carries at most {RPMSG_MAX_PAYLOAD} bytes",
    errno.EAGAIN: "would block (opened with O_NONBLOCK)",
    errno.EINVAL: "the remote address may be invalid (RPMSG_ADDR_ANY cannot be sent to)",
}


class Endpoint:
    """A /dev/rpmsgN bound to (local `endpt`, `remote_endpt`) on one core; also a context manager."""

    def __init__(self, fd: int, endpt: int, remote_endpt: int, name: str, node: str, route: Route,
                 on_close: Callable[["Endpoint"], None]):
        self.endpt = endpt
        self.remote_endpt = remote_endpt
        self.name = name
        self.node = node
        self.route = route
        self._fd = fd
        self._on_close = on_close
        self._lock = threading.Lock()
        self._users = 0
        self._closing = False

    @property
    def fd(self) -> int:
        """The descriptor of /dev/rpmsgN, or -1 once closed."""
        return self._fd

    @property
    def closed(self) -> bool:
        return self._closing

    def fileno(self) -> int:
        """For select/poll/selectors and event loops."""
        if self._closing:
            raise RpmsgCharError(errno.EBADF, f"{self.node} ({self.name}) is closed", step="fileno",
                                 path=self.node)
        return self._fd

    def send(self, data: bytes) -> None:
        """Send `data` as one message to the remote endpoint (may block while no TX buffer is free)."""
        with self._using("send") as fd:
            try:
                written = os.write(fd, data)
            except OSError as exc:
                raise self._error(exc, "send", f"write of {len(data)} bytes to") from exc
        if written != len(data):
            raise RpmsgCharError(errno.EIO, f"short write to {self.node}: {written} of {len(data)} bytes",
                                 step="send", path=self.node)

    def recv(self, bufsize: int = RPMSG_MAX_PAYLOAD, timeout: float | None = None) -> bytes:
        """One message, truncated to `bufsize` as the kernel does; `timeout` seconds, None = wait forever."""
        with self._using("recv") as fd:
            if timeout is not None and not _readable(fd, timeout):
                raise RpmsgTimeout(errno.ETIMEDOUT, f"no message on {self.node} within {timeout} s",
                                   step="recv", path=self.node)
            try:
                return os.read(fd, bufsize)
            except OSError as exc:
                raise self._error(exc, "recv", "read from") from exc

    async def arecv(self, bufsize: int = RPMSG_MAX_PAYLOAD) -> bytes:
        """Wait for one message without blocking the event loop, under asyncio or trio (and so
        under anyio on either); cancel it as that library cancels (task.cancel(), scopes).

        Assumes this task is the endpoint's only reader, so a readable fd means read() won't block.
        """
        with self._using("arecv") as fd:
            while not _readable(fd, 0):
                await _wait_readable(fd)
            try:
                return os.read(fd, bufsize)
            except OSError as exc:
                raise self._error(exc, "arecv", "read from") from exc

    def close(self) -> None:
        """DESTROY_EPT, then close the fd (at once, or when the last send/recv in flight returns)."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._users += 1
        try:
            destroy_eptdev(self._fd, self.node)
        finally:
            self._release()
            self._on_close(self)
            log.info("closed %s (%s)", self.node, self.name)

    def __enter__(self) -> "Endpoint":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closing else f"fd={self._fd}"
        return (f"<Endpoint {self.name} {self.node} {state} local={self.endpt} remote={self.remote_endpt} "
                f"on {self.route.core}>")

    @contextlib.contextmanager
    def _using(self, step: str) -> Iterator[int]:
        with self._lock:
            if self._closing:
                raise RpmsgCharError(errno.EBADF, f"{self.node} ({self.name}) is closed", step=step,
                                     path=self.node)
            self._users += 1
        try:
            yield self._fd
        finally:
            self._release()

    def _release(self) -> None:
        with self._lock:
            self._users -= 1
            if not (self._closing and self._users == 0 and self._fd >= 0):
                return
            fd, self._fd = self._fd, -1
        os.close(fd)

    def _error(self, exc: OSError, step: str, action: str) -> RpmsgCharError:
        hint = _HINTS.get(exc.errno or 0)
        message = f"{action} {self.node} ({self.name})" + (f" [{hint}]" if hint else "")
        return RpmsgCharError.from_os_error(exc, message, step=step, path=self.node)


async def _wait_readable(fd: int) -> None:
    """Until `fd` polls readable, in whichever event loop runs this task. Neither library is
    imported here: the one running this task is already loaded."""
    loop = _running_asyncio_loop()
    if loop is not None:
        ready = loop.create_future()
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
        try:
            await ready
        finally:
            loop.remove_reader(fd)
        return
    trio = sys.modules.get("trio")
    if trio is None or not _in_trio(trio):
        raise RuntimeError("Endpoint.arecv() needs a running asyncio or trio event loop")
    await trio.lowlevel.wait_readable(fd)


def _running_asyncio_loop() -> Any:
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _in_trio(trio: Any) -> bool:
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def _readable(fd: int, timeout: float) -> bool:
    """Whether a read would return now (a message, or an error such as EPIPE) within `timeout` s."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(math.ceil(timeout * 1000)))
