"""Errors a user of remote_fw can meet, with the errno the kernel would use where one applies."""

from __future__ import annotations

import errno


class FirmwareNameError(OSError):
    """The firmware name is empty or tries to leave the firmware directories (EINVAL)."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(errno.EINVAL, f"invalid firmware name {name!r}: {why}", name)


class FirmwareNotFoundError(FileNotFoundError):
    """No built-in, plugin or file of that name (ENOENT, as request_firmware returns)."""

    def __init__(self, name: str, searched: str) -> None:
        super().__init__(errno.ENOENT, f"firmware {name!r} not found ({searched})", name)


class FirmwareImageError(OSError):
    """The firmware was found but cannot run, e.g. no `main` (EINVAL, like a bad ELF)."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(errno.EINVAL, f"firmware {name!r} is not loadable: {why}", name)


class AddressInUseError(OSError):
    """An endpoint already owns that address (EADDRINUSE)."""

    def __init__(self, addr: int) -> None:
        super().__init__(errno.EADDRINUSE, f"rpmsg address {addr} is already in use")


class PayloadTooLargeError(ValueError):
    """A payload longer than buf_size − 16 (the MTU)."""

    def __init__(self, size: int, mtu: int) -> None:
        super().__init__(f"payload of {size} bytes exceeds the rpmsg MTU of {mtu} bytes")
        self.size = size
        self.mtu = mtu


class FirmwareUnsafeError(PermissionError):
    """A firmware file that someone other than root or us could have written (EACCES)."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(errno.EACCES, f"firmware {name!r} refused: {why}", name)
