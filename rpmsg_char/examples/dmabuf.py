"""Move megabytes to a remote core without copying them through rpmsg (TI's zero-copy pattern).

Allocates a buffer from a DMA-buf heap, fills it (SYNC_START|WRITE ... SYNC_END|WRITE),
attaches it to the core (RPROC_IOC_DMA_BUF_ATTACH gives its device address) and sends the
address in one 24-byte message to a firmware that answers with the buffer's CRC-32 (the
dmabuf_checksum built-in of rpmsg-emu; a board needs firmware that speaks the same request).
Then asks the firmware to invert the buffer in place and reads it back after
SYNC_START|READ.

    python -m rpmsg_char.examples.dmabuf -r 9 -s 16   # 16 MiB to the AM62x M4F

Prints "OK <bytes> <crc> <device address> <MiB/s>"; exit status 1 on a mismatch.
"""

import argparse
import struct
import sys
import time
import zlib

from .. import dma_buf
from ..errors import RpmsgCharError
from ..library import RpmsgChar

REQUEST = struct.Struct("<IIQQ")  # op, reserved, device address, size
REPLY = struct.Struct("<iI")  # status, crc32
CHECKSUM, INVERT = 1, 2


def ask(ep, op: int, da: int, size: int, timeout: float) -> int:
    ep.send(REQUEST.pack(op, 0, da, size))
    status, crc = REPLY.unpack(ep.recv(timeout=timeout))
    if status:
        raise RpmsgCharError(-status, f"the firmware answered {status}", step="dma-buf request")
    return crc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="rpmsg_char.examples.dmabuf", description=__doc__.split("\n")[0])
    p.add_argument("-r", dest="rproc_id", default="9", help="rproc id or TI name (default 9, the AM62x M4F)")
    p.add_argument("-p", dest="remote_endpt", type=int, default=14, help="firmware endpoint (default 14)")
    p.add_argument("-s", dest="mib", type=float, default=4, help="MiB to move (default 4)")
    p.add_argument("-e", dest="heap", default="linux,cma", help="DMA-buf heap (default linux,cma)")
    p.add_argument("--root", default=None, help="tree holding sys/ and dev/ (default $RPMSG_CHAR_ROOT or /)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each reply")
    args = p.parse_args(argv)
    rproc_id = int(args.rproc_id, 0) if args.rproc_id.isdigit() else args.rproc_id
    size = int(args.mib * (1 << 20))
    pattern = bytes(range(256)) * (size // 256 + 1)
    try:
        with RpmsgChar(root=args.root) as rc, rc.open(rproc_id, args.remote_endpt) as ep, \
                dma_buf.alloc(size, args.heap, root=args.root) as buf:
            start = time.perf_counter()
            with buf.cpu_access(write=True) as mem:
                mem[:size] = pattern[:size]
            da = buf.attach(ep)
            crc = ask(ep, CHECKSUM, da, size, args.timeout)
            elapsed = time.perf_counter() - start
            if crc != zlib.crc32(pattern[:size]):
                print(f"FAIL: checksum {crc:08x} from the firmware", file=sys.stderr)
                return 1
            inverted_crc = ask(ep, INVERT, da, size, args.timeout)
            with buf.cpu_access(read=True) as mem:
                if zlib.crc32(mem[:size]) != inverted_crc or mem[0] != 0xFF:
                    print("FAIL: the inverted buffer does not match", file=sys.stderr)
                    return 1
    except RpmsgCharError as exc:
        print(f"dmabuf: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(f"OK {size} {crc:08x} {da:#x} {size / elapsed / (1 << 20):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
