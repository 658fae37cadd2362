"""Name-service messages (`struct rpmsg_ns_msg`): how a core announces and withdraws a service.

40 bytes, little-endian: name[32] (NUL padded, at most 31 characters survive: Linux forces
name[31] to NUL), addr u32, flags u32 (0 = create, 1 = destroy). Sent to RPMSG_NS_ADDR (53).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

RPMSG_NAME_SIZE = 32
NS_MSG = struct.Struct("<32sII")
NS_MSG_SIZE = NS_MSG.size  # 40


class NsFlags(enum.IntEnum):
    CREATE = 0
    DESTROY = 1


@dataclass(frozen=True)
class NsMessage:
    name: str
    addr: int
    flags: NsFlags

    def pack(self) -> bytes:
        raw = self.name.encode()
        if not raw or len(raw) >= RPMSG_NAME_SIZE or b"\0" in raw:
            raise ValueError(
                f"service name {self.name!r} must be 1..{RPMSG_NAME_SIZE - 1} bytes without NUL"
            )
        return NS_MSG.pack(raw, self.addr, self.flags)

    @classmethod
    def unpack(cls, data: bytes) -> NsMessage:
        """Parse as rpmsg_ns.c does: exactly 40 bytes, name cut at name[31]."""
        if len(data) != NS_MSG_SIZE:
            raise ValueError(f"malformed ns msg ({len(data)} bytes, expected {NS_MSG_SIZE})")
        raw, addr, flags = NS_MSG.unpack(data)
        name = raw[: RPMSG_NAME_SIZE - 1].split(b"\0", 1)[0].decode(errors="replace")
        return cls(name, addr, NsFlags(flags & 1))
