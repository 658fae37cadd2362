"""rpmsg_char: open rpmsg endpoint devices on TI K3 SoCs the way TI's ti-rpmsg-char does.

Works on a board (root `/`) and on an emulated tree mounted elsewhere (`root=` or
`$RPMSG_CHAR_ROOT`). Standard library only; `Endpoint.arecv` runs under asyncio, trio or anyio,
whichever is running, without importing any of them.

    with RpmsgChar() as rc, rc.open("M4F_MCU0_0", 14) as ept:
        ept.send(b"ping")
        reply = ept.recv(timeout=1.0)
"""

from .endpoint import Endpoint
from .errors import RpmsgCharError, RpmsgTimeout
from .library import DEFAULT_DEV_NAME, RpmsgChar
from .root import ROOT_ENV
from .rproc_id import RPROC_ID_MAX, RProcId
from .soc_table import SOC_RPROCS
from .sysfs_walk import Route
from .ti_api import rpmsg_char_close, rpmsg_char_exit, rpmsg_char_init, rpmsg_char_open
from .uapi import RPMSG_ADDR_ANY, RPMSG_MAX_PAYLOAD, RPMSG_RESERVED_ADDRESSES

RPMSG_DEV_NAME_MAXLEN = 32
"""TI's documented name buffer size (ti_rpmsg_char.h); a name holds at most 31 bytes."""

__all__ = [
    "DEFAULT_DEV_NAME", "Endpoint", "ROOT_ENV", "RPMSG_ADDR_ANY", "RPMSG_DEV_NAME_MAXLEN", "RPMSG_MAX_PAYLOAD",
    "RPMSG_RESERVED_ADDRESSES", "RPROC_ID_MAX", "RProcId", "Route", "RpmsgChar", "RpmsgCharError",
    "RpmsgTimeout", "SOC_RPROCS", "rpmsg_char_close", "rpmsg_char_exit", "rpmsg_char_init", "rpmsg_char_open",
]
