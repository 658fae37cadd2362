"""Works on a Linux DMA-buf named by a message: the zero-copy pattern of TI's IPC guide.

Linux allocates a buffer from a DMA-buf heap, fills it, syncs it, attaches it to this core
(RPROC_IOC_DMA_BUF_ATTACH gives the device address) and sends the address and size in one
small message. The firmware reads the same pages through `ctx.dma_buf` and answers with
the result: megabytes move, and only 24 + 8 bytes cross the vrings.

Request (24 bytes, little-endian): u32 op, u32 reserved, u64 device address, u64 size.
  op 1 CHECKSUM: the CRC-32 (IEEE 802.3, zlib's) of the bytes.
  op 2 INVERT: every byte becomes its complement, in place; then the CRC-32 of the result
     (Linux must DMA_BUF_SYNC_START with READ before reading it).
  op 3 STREAM: no buffer (address 0): the next messages from the same sender carry `size`
     bytes of data, chunked through the vrings; the reply comes after the last byte. The
     same CRC over the same data, for comparing both ways of moving it.
Reply (8 bytes): i32 status (0, or -EINVAL for a bad request, -EFAULT for an address
nothing is attached at), u32 CRC-32.

config: "service" (default "rpmsg_chrdev"), "addr" (default 14).
"""

import errno
import struct
import zlib

from remote_fw.firmware_api import DmaFault, Endpoint, FirmwareContext

REQUEST = struct.Struct("<IIQQ")
REPLY = struct.Struct("<iI")
CHECKSUM, INVERT, STREAM = 1, 2, 3
STEP = 4 << 20  # bytes per step: the core yields between steps, so its watchdog stays calm
_COMPLEMENT = bytes(255 - b for b in range(256))


async def main(ctx: FirmwareContext) -> None:
    streams: dict[int, list[int]] = {}  # sender -> [bytes still to come, running CRC]

    async def serve(ep: Endpoint, src: int, data: bytes) -> None:
        stream = streams.get(src)
        if stream is not None:
            stream[0] -= len(data)
            stream[1] = zlib.crc32(data, stream[1])
            if stream[0] <= 0:
                del streams[src]
                await ep.send(src, REPLY.pack(0 if stream[0] == 0 else -errno.EMSGSIZE,
                                              stream[1]))
            return
        if len(data) == REQUEST.size and REQUEST.unpack(data)[0] == STREAM:
            size = REQUEST.unpack(data)[3]
            if size:
                streams[src] = [size, 0]
            else:
                await ep.send(src, REPLY.pack(0, 0))
            return
        await ep.send(src, REPLY.pack(*await handle(ctx, data)))

    ep = ctx.create_endpoint(int(ctx.config.get("addr", 14)), serve)
    await ep.announce(ctx.config.get("service", "rpmsg_chrdev"))
    ctx.log(f"dmabuf_checksum: ready at {ep.addr}")


async def handle(ctx: FirmwareContext, data: bytes) -> tuple[int, int]:
    if len(data) != REQUEST.size:
        return -errno.EINVAL, 0
    op, _, da, size = REQUEST.unpack(data)
    if op not in (CHECKSUM, INVERT):
        return -errno.EINVAL, 0
    try:
        view = ctx.dma_buf(da, size)
    except DmaFault as fault:
        ctx.log(f"dmabuf_checksum: {fault}")
        return -errno.EFAULT, 0
    crc = 0
    with view:
        for start in range(0, size, STEP):
            chunk = view[start:start + STEP]
            if op == INVERT:
                chunk[:] = chunk.tobytes().translate(_COMPLEMENT)
            crc = zlib.crc32(chunk, crc)
            await ctx.sleep(0)
    return 0, crc
