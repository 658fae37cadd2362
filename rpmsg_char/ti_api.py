"""TI's four functions over one process-wide `RpmsgChar`, for code ported from libti_rpmsg_char.

Return values on success are TI's (init: 0, or 1 when already initialised; close: 0). Every
failure raises `RpmsgCharError` carrying the errno TI would return, instead of NULL and a stale
errno. Signal handlers are not installed: endpoints still open at interpreter exit are closed by
an atexit hook, which also runs on SystemExit from a SIGTERM handler the application installs.
"""

import atexit
import errno
import logging
import os
import threading

from .endpoint import Endpoint
from .errors import RpmsgCharError
from .library import RpmsgChar

log = logging.getLogger(__name__)

_lock = threading.Lock()
_library: RpmsgChar | None = None
_atexit_registered = False


def rpmsg_char_init(soc_name: str | None = None, root: str | os.PathLike | None = None) -> int:
    """Check kernel support and detect the SoC (`soc_name` only when detection fails)."""
    global _library, _atexit_registered
    with _lock:
        if _library is not None:
            return 1
        _library = RpmsgChar(soc_name, root)
        if not _atexit_registered:
            atexit.register(rpmsg_char_exit)
            _atexit_registered = True
        return 0


def rpmsg_char_open(rproc_id: int | str, dev_name: str | None, local_endpt: int, remote_endpt: int,
                    eptdev_name: str, flags: int = 0) -> Endpoint:
    """Create and open an endpoint device; the result has TI's `fd` and `endpt` fields."""
    if eptdev_name is None:
        raise RpmsgCharError(errno.EINVAL, "eptdev_name is required", step="check arguments")
    return _initialised().open(rproc_id, remote_endpt, dev_name=dev_name, local_endpt=local_endpt,
                               eptdev_name=eptdev_name, flags=flags)


def rpmsg_char_close(dev: Endpoint | None) -> int:
    """DESTROY_EPT and close; EINVAL for None, ENOENT for a handle not open (e.g. closed twice)."""
    if dev is None:
        raise RpmsgCharError(errno.EINVAL, "no endpoint given", step="close endpoint")
    _initialised().close(dev)
    return 0


def rpmsg_char_exit() -> None:
    """Close every endpoint still open and forget the SoC, so init can run again."""
    global _library
    with _lock:
        library, _library = _library, None
    if library is None:
        log.debug("rpmsg_char_exit: library not initialized previously")
        return
    library.close_all()


def _initialised() -> RpmsgChar:
    library = _library
    if library is None:
        raise RpmsgCharError(errno.EINVAL, "rpmsg_char_init() has not been called", step="check library")
    return library
