"""Sends a configured stream of messages to Linux.

Each payload starts with a u32 LE sequence number (from 0) and is padded with its low byte to
"size" bytes. Without a configured "dst", the firmware waits for Linux to say anything to its
endpoint and streams to that sender (the usual TI pattern: Linux speaks first).

config: "service" ("rpmsg_chrdev"), "addr" (14), "dst" (None), "count" (1000),
        "size" (64, at least 4), "interval" (0.0 seconds between messages).
"""

import struct

from remote_fw.firmware_api import FirmwareContext


async def main(ctx: FirmwareContext) -> None:
    cfg = ctx.config
    count = int(cfg.get("count", 1000))
    size = int(cfg.get("size", 64))
    interval = float(cfg.get("interval", 0.0))
    if not 4 <= size <= ctx.mtu:
        raise ValueError(f"source: size {size} must be within 4..{ctx.mtu}")
    ep = ctx.create_endpoint(int(cfg.get("addr", 14)))
    await ep.announce(cfg.get("service", "rpmsg_chrdev"))
    dst = cfg.get("dst")
    if dst is None:
        dst, _hello = await ep.recv()
    ctx.log(f"source: streaming {count} × {size} bytes from {ep.addr} to {dst}")
    for seq in range(count):
        await ep.send(dst, struct.pack("<I", seq) + bytes([seq & 0xFF]) * (size - 4))
        if interval:
            await ctx.sleep(interval)
    ctx.log(f"source: sent {count} messages")
