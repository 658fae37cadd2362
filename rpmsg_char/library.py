"""The library state TI keeps in globals: the root, the SoC, the open endpoints and one lock.

`RpmsgChar` is the Pythonic entry point; `ti_api` wraps one process-wide instance in TI's
function names.
"""

import errno
import itertools
import logging
import os
import threading

from .chrdev_bind import bind_chrdev
from .endpoint import Endpoint
from .eptdev import create_eptdev
from .errors import RpmsgCharError
from .root import select_root
from .soc_table import choose_family, platform_device, to_rproc_id
from .sysfs_walk import Route, SysfsTree
from .uapi import RPMSG_ADDR_ANY, RPMSG_NAME_SIZE, RPMSG_RESERVED_ADDRESSES

log = logging.getLogger(__name__)

DEFAULT_DEV_NAME = "rpmsg_chrdev"
"""The channel TI's echo firmware announces, and TI's default."""

_sequence = itertools.count()


class RpmsgChar:
    """rpmsg_char on one tree (`root`, `$RPMSG_CHAR_ROOT` or `/`) and SoC; a context manager that
    closes whatever endpoints are still open."""

    def __init__(self, soc_name: str | None = None, root: str | os.PathLike | None = None):
        self.tree = SysfsTree(select_root(root))
        self.tree.check_frameworks()
        self.soc = choose_family(self.tree.soc_family(), soc_name)
        self._lock = threading.RLock()
        self._endpoints: list[Endpoint] = []
        log.info("rpmsg_char on %s: SoC %s", self.tree.root, self.soc)

    @property
    def root(self) -> str:
        return self.tree.root

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """Endpoints opened here and not yet closed."""
        with self._lock:
            return tuple(self._endpoints)

    def route(self, rproc_id: int | str, remote_endpt: int, dev_name: str | None = None) -> Route:
        """Where the channel `dev_name`@`remote_endpt` of core `rproc_id` (id or TI name) and its
        control device are."""
        rid = to_rproc_id(rproc_id)
        platform = platform_device(self.soc, rid)
        return self.tree.find_route(rid, platform, dev_name or DEFAULT_DEV_NAME, remote_endpt)

    def bind_chrdev(self, rproc_id: int | str, remote_endpt: int, dev_name: str) -> str:
        """Give the firmware's own channel `dev_name`@`remote_endpt` the rpmsg_chrdev driver
        (driver_override + bind; needs root), so that `open(..., dev_name=dev_name)` can use it.

        Returns the channel device's name. Nothing is written when rpmsg_chrdev already holds it.
        """
        rid = to_rproc_id(rproc_id)
        with self._lock:
            channel_dir = self.tree.find_channel(rid, platform_device(self.soc, rid), dev_name, remote_endpt)
            bind_chrdev(self.tree.root, channel_dir)
        return os.path.basename(channel_dir)

    def open(self, rproc_id: int | str, remote_endpt: int, *, dev_name: str | None = None,
             local_endpt: int = RPMSG_ADDR_ANY, eptdev_name: str | None = None, flags: int = 0) -> Endpoint:
        """Create an endpoint device talking to `remote_endpt` on core `rproc_id` and open it.

        `rproc_id` is an `RProcId`, its number, or TI's name (`"M4F_MCU0_0"`). `eptdev_name`
        defaults to a name unique in this process; `flags` are OR'ed into open().
        """
        rproc_id = to_rproc_id(rproc_id)
        name = _endpoint_name(eptdev_name, rproc_id)
        _check_addresses(local_endpt, remote_endpt)
        with self._lock:
            route = self.route(rproc_id, remote_endpt, dev_name)
            fd, index, src = create_eptdev(self.tree, route, name, local_endpt, remote_endpt, flags)
            endpoint = Endpoint(fd, src, remote_endpt, name.decode(), self.tree.dev_node(f"rpmsg{index}"),
                                route, self._forget)
            self._endpoints.append(endpoint)
        return endpoint

    def close(self, endpoint: Endpoint) -> None:
        """Close an endpoint of this library; ENOENT for one it does not know (TI's check)."""
        with self._lock:
            if endpoint not in self._endpoints:
                raise RpmsgCharError(errno.ENOENT, f"{endpoint!r} is not open in this library",
                                     step="close endpoint")
            endpoint.close()

    def close_all(self) -> None:
        """Close every endpoint still open; report the first failure after trying them all."""
        first_error = None
        for endpoint in self.endpoints:
            log.warning("closing %r, which the application left open", endpoint)
            try:
                endpoint.close()
            except RpmsgCharError as exc:
                log.error("%s", exc)
                first_error = first_error or exc
        if first_error:
            raise first_error

    def __enter__(self) -> "RpmsgChar":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close_all()

    def _forget(self, endpoint: Endpoint) -> None:
        with self._lock:
            if endpoint in self._endpoints:
                self._endpoints.remove(endpoint)


def _endpoint_name(eptdev_name: str | None, rproc_id: int) -> bytes:
    """The eptdev name as the kernel stores it: at most 31 bytes (TI's library manages only 30)."""
    if eptdev_name is None:
        eptdev_name = f"rpmsg-char-{int(rproc_id)}-{os.getpid()}-{next(_sequence)}"
    name = eptdev_name.encode()
    if not name or len(name) >= RPMSG_NAME_SIZE or b"\0" in name:
        raise RpmsgCharError(errno.EINVAL, f"endpoint name {eptdev_name!r} must be 1 to {RPMSG_NAME_SIZE - 1} "
                             f"bytes without NUL (it is {len(name)} bytes)", step="check arguments")
    return name


def _check_addresses(local_endpt: int, remote_endpt: int) -> None:
    """Reject before any I/O what TI rejects (TI checks the local address only after opening rpmsg_ctrl)."""
    if not 0 <= remote_endpt < RPMSG_ADDR_ANY:
        raise RpmsgCharError(errno.EINVAL, f"remote endpoint {remote_endpt} is not a valid address "
                             "(RPMSG_ADDR_ANY cannot be a destination)", step="check arguments")
    if local_endpt != RPMSG_ADDR_ANY and not RPMSG_RESERVED_ADDRESSES <= local_endpt < RPMSG_ADDR_ANY:
        raise RpmsgCharError(errno.EINVAL, f"local endpoint {local_endpt} is reserved or invalid: use "
                             f"RPMSG_ADDR_ANY or an address >= {RPMSG_RESERVED_ADDRESSES}", step="check arguments")

