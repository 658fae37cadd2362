"""The 16-byte rpmsg wire header and the address constants both sides agree on.

Layout (packed, little-endian, as `struct rpmsg_hdr` on a VIRTIO_F_VERSION_1 device):
src u32 @0, dst u32 @4, reserved u32 @8, len u16 @12, flags u16 @14, payload @16.
"""

import struct

RPMSG_HDR = struct.Struct("<IIIHH")
RPMSG_HDR_SIZE = RPMSG_HDR.size  # 16

RPMSG_ADDR_ANY = 0xFFFFFFFF
RPMSG_NS_ADDR = 53
RPMSG_RESERVED_ADDRESSES = 1024

