"""The remote side of rpmsg-emu: simulated remote cores, their shared-memory transport and firmware.

Knows nothing of FUSE or Linux; the Linux side drives a core through `RemoteCore` and talks to
its firmware only through `core.host` (vrings + mailbox), as the kernel does with hardware.
"""

from .core import CRASHED, OFFLINE, RUNNING, RemoteCore
from .errors import (
    AddressInUseError,
    FirmwareImageError,
    FirmwareNameError,
    FirmwareNotFoundError,
    FirmwareUnsafeError,
    PayloadTooLargeError,
)
from .faults import FaultPlan, InjectedCrash
from .firmware_api import ADDR_ANY, NS_ADDR, Endpoint, FirmwareContext
from .firmware_loader import ENTRY_POINT_GROUP, load_firmware
from .host_transport import HostTransport
from .mailbox import Mailbox
from .name_service import NS_MSG_SIZE, NsFlags, NsMessage
from .rpmsg_header import RPMSG_ADDR_ANY, RPMSG_HDR_SIZE, RPMSG_NS_ADDR, RPMSG_RESERVED_ADDRESSES
from .shared_memory import VRING_HOST_TO_REMOTE, VRING_REMOTE_TO_HOST, SharedMemory
from .timing import CoreTiming

__all__ = [
    "ADDR_ANY",
    "CRASHED",
    "ENTRY_POINT_GROUP",
    "NS_ADDR",
    "NS_MSG_SIZE",
    "OFFLINE",
    "RPMSG_ADDR_ANY",
    "RPMSG_HDR_SIZE",
    "RPMSG_NS_ADDR",
    "RPMSG_RESERVED_ADDRESSES",
    "RUNNING",
    "VRING_HOST_TO_REMOTE",
    "VRING_REMOTE_TO_HOST",
    "AddressInUseError",
    "CoreTiming",
    "Endpoint",
    "FaultPlan",
    "FirmwareContext",
    "FirmwareImageError",
    "FirmwareNameError",
    "FirmwareNotFoundError",
    "FirmwareUnsafeError",
    "HostTransport",
    "InjectedCrash",
    "Mailbox",
    "NsFlags",
    "NsMessage",
    "PayloadTooLargeError",
    "RemoteCore",
    "SharedMemory",
    "load_firmware",
]
