"""Holds endpoints open for the scale measurement, in a process of its own.

Usage: python endpoint_holder.py ROOT. Each line "N" on stdin creates N more endpoints to the
echo firmware (CREATE_EPT, then open the new /dev/rpmsgN, so each is bound as in use) and answers
"ok TOTAL". End of input closes them all.
"""
from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

from rpmsg_setup import EndpointMaker


def main(root: Path) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    maker = EndpointMaker(root)
    fds: list[int] = []
    for line in sys.stdin:
        for _ in range(int(line)):
            fds.append(os.open(maker.create(f"hold-{len(fds)}"), os.O_RDWR))
        print(f"ok {len(fds)}", flush=True)
    for fd in fds:
        os.close(fd)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
