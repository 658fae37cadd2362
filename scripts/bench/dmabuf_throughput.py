"""Large data to a remote core: a shared DMA-buf versus chunking through 496-byte messages.

Under `rpmsg-emu run` with the dmabuf_checksum firmware on the AM62x M4F, for each size
(1, 16, 256 MiB by default) the same CRC-32 is asked of the firmware over the same bytes:
- shared buffer: copy the data into an mmapped linux,cma buffer (SYNC_START|WRITE ..
  SYNC_END|WRITE), send its device address in one message, wait for the CRC. The buffer is
  allocated and attached once per size, outside the timing, as an application would;
- messages: the STREAM request, then the data in 496-byte messages, then wait for the CRC.
The message path is timed only up to --message-limit MiB (default 16: 256 MiB takes minutes
with the board's modelled per-message cost); larger sizes report the rate it would need.
Usage: python scripts/bench/dmabuf_throughput.py [--sizes 1,16,256] [--message-limit 16]
       [--timing board|fast] [--rounds N]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

RUN = [sys.executable, "-m", "fusedev.cli", "run", "--firmware", "9=dmabuf_checksum"]

CLIENT = r'''
import json, struct, sys, time, zlib
from rpmsg_char import RpmsgChar, dma_buf
REQUEST, REPLY = struct.Struct("<IIQQ"), struct.Struct("<iI")
sizes, message_limit, rounds = json.loads(sys.argv[1])
MTU = 496

def crc_of(ep):
    status, crc = REPLY.unpack(ep.recv(timeout=600))
    assert status == 0, status
    return crc

results = []
with RpmsgChar() as rc, rc.open(9, 14) as ep:
    for mib in sizes:
        size = mib << 20
        data = (bytes(range(256)) * 4096) * (size // (1 << 20))
        want = zlib.crc32(data)
        with dma_buf.alloc(size) as buf:
            mem = buf.map()
            da = buf.attach(ep)
            shared = []
            for _ in range(rounds):
                start = time.perf_counter()
                buf.sync(dma_buf.SYNC_START | dma_buf.SYNC_WRITE)
                mem[:] = data
                buf.sync(dma_buf.SYNC_END | dma_buf.SYNC_WRITE)
                ep.send(REQUEST.pack(1, 0, da, size))
                assert crc_of(ep) == want
                shared.append(time.perf_counter() - start)
        chunked = []
        if mib <= message_limit:
            view = memoryview(data)
            for _ in range(rounds):
                start = time.perf_counter()
                ep.send(REQUEST.pack(3, 0, 0, size))
                for offset in range(0, size, MTU):
                    ep.send(view[offset:offset + MTU])
                assert crc_of(ep) == want
                chunked.append(time.perf_counter() - start)
        results.append({"mib": mib, "shared_s": min(shared),
                        "messages_s": min(chunked) if chunked else None})
print(json.dumps(results))
'''


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1,16,256", help="MiB, comma-separated")
    p.add_argument("--message-limit", type=int, default=16, help="largest MiB sent as messages")
    p.add_argument("--timing", choices=("board", "fast"), default="board")
    p.add_argument("--rounds", type=int, default=1, help="best of N per size and path")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    config = json.dumps([sizes, args.message_limit, args.rounds])
    done = subprocess.run([*RUN, "--timing", args.timing, "--", sys.executable, "-c", CLIENT,
                           config], capture_output=True, text=True)
    if done.returncode:
        print(done.stdout + done.stderr, file=sys.stderr)
        return 1
    results = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"timing {args.timing}; CRC-32 by the M4F firmware over the same bytes")
    print(f"{'size':>8} {'shared buffer':>22} {'496-byte messages':>22} {'ratio':>8}")
    for row in results:
        mib, shared = row["mib"], row["shared_s"]
        line = f"{mib:>5} MiB {shared * 1e3:>9.1f} ms {mib / shared:>7.0f} MiB/s"
        if row["messages_s"] is not None:
            msgs = row["messages_s"]
            line += f" {msgs * 1e3:>9.1f} ms {mib / msgs:>7.1f} MiB/s {msgs / shared:>7.0f}x"
        else:
            line += f" {'not run (--message-limit)':>22}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
