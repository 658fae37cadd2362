"""rpmsg_char_benchmark: round-trip latency of fixed-size echo messages.

Unlike TI's program: the default size of 100 bytes really applies, the clock is read as one
monotonic nanosecond count (no negative latencies at second boundaries), nothing large lives on a
stack, each reply is compared with what was sent, and the statistics are printed instead of
being written to histogram.txt.
"""

import sys
import time

from ..errors import RpmsgCharError
from ..uapi import RPMSG_MAX_PAYLOAD
from ._cli import check_common, parse_int, parser, reply_timeout, run_session
from .stats import histogram, percentile


def main(argv: list[str] | None = None) -> int:
    p = parser("rpmsg_char_benchmark", "Measure round-trip latency with an echo endpoint.")
    p.add_argument("-m", dest="msg_length", type=parse_int, default=100,
                   help=f"message length in bytes, 1..{RPMSG_MAX_PAYLOAD} (default 100)")
    args = p.parse_args(argv)
    check_common(p, args)
    if not 1 <= args.msg_length <= RPMSG_MAX_PAYLOAD:
        p.error(f"message length must be 1..{RPMSG_MAX_PAYLOAD}")
    return run_session(args, _measure)


def _measure(dev, args) -> bool:
    payload = b"@" * args.msg_length
    timeout = reply_timeout(args)
    latencies_us = []
    print(f"Exchanging {args.num_msgs} messages of {args.msg_length} bytes with rpmsg device {dev.name} "
          f"on rproc id {args.rproc_id} ...\n")
    start = time.monotonic_ns()
    for i in range(args.num_msgs):
        sent = time.monotonic_ns()
        try:
            dev.send(payload)
            reply = dev.recv(timeout=timeout)
        except RpmsgCharError as exc:
            print(f"message #{i} failed: {exc}", file=sys.stderr)
            return False
        latencies_us.append((time.monotonic_ns() - sent) / 1000)
        if reply != payload:
            print(f"message #{i}: the reply ({len(reply)} bytes) differs from what was sent "
                  f"({len(payload)} bytes of '@')", file=sys.stderr)
            return False
    total_s = (time.monotonic_ns() - start) / 1e9
    ordered = sorted(latencies_us)
    print(f"Communicated {args.num_msgs} messages successfully on {dev.name}\n")
    print(f"Total execution time for the test: {total_s:.3f} seconds")
    print(f"Average round-trip latency: {sum(ordered) / len(ordered):.1f} us")
    print(f"Worst-case round-trip latency: {ordered[-1]:.1f} us")
    print("Round-trip latency percentiles: " +
          ", ".join(f"p{p} = {percentile(ordered, p):.1f} us" for p in (50, 90, 99)))
    print("Round-trip latency histogram:")
    for line in histogram(ordered):
        print(line)
    return True


if __name__ == "__main__":
    sys.exit(main())
