"""Endpoint lifecycle rate: rpmsg_char_open + rpmsg_char_close cycles through TI's full walk.

Usage: python lifecycle_client.py ROOT SECONDS  → prints "cycles=N ns=T".
Run as its own process so the pinned pass can pin it like the C client.
"""
from __future__ import annotations

import sys
import time

from rpmsg_char import RPMSG_ADDR_ANY, rpmsg_char_close, rpmsg_char_exit, rpmsg_char_init
from rpmsg_char import rpmsg_char_open

RPROC_ID = 9  # M4F_MCU0_0 of the default AM62x board, running echo
REMOTE_ENDPT = 14


def main(root: str, seconds: float) -> None:
    rpmsg_char_init(root=root)
    cycles = 0
    start = time.perf_counter_ns()
    deadline = start + seconds * 1e9
    now = start
    while now < deadline:
        ept = rpmsg_char_open(RPROC_ID, "rpmsg_chrdev", RPMSG_ADDR_ANY, REMOTE_ENDPT,
                              f"bench-life-{cycles}")
        rpmsg_char_close(ept)
        cycles += 1
        now = time.perf_counter_ns()
    rpmsg_char_exit()
    print(f"cycles={cycles} ns={now - start}")


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
