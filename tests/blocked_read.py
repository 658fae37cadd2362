"""A read() that blocks in another thread, for tests of what wakes it and with which errno."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path


class BlockedRead:
    """Starts `read(fd, size)` in a thread and gives it time to block in the kernel."""

    def __init__(self, fd: int, size: int = 496, settle: float = 0.2) -> None:
        self.result: bytes | None = None
        self.errno: int | None = None
        self._thread = threading.Thread(target=self._read, args=(fd, size), daemon=True)
        self._thread.start()
        time.sleep(settle)

    def _read(self, fd: int, size: int) -> None:
        try:
            self.result = os.read(fd, size)
        except OSError as exc:
            self.errno = exc.errno

    def wait(self, timeout: float = 10.0) -> BlockedRead:
        """Wait for the read to finish; a read still blocked is a hang and fails the test."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the blocked read was never woken"
        return self


def wait_until_asleep(pid: int, tid: int, settle: float = 0.3) -> None:
    """Until thread `tid` of another process sleeps in the kernel (a read in our FUSE request;
    /proc/PID/task/TID/stat state S or D), then `settle` seconds for the request to be ours."""
    stat = Path(f"/proc/{pid}/task/{tid}/stat")
    deadline = time.monotonic() + 10
    while stat.read_text().rsplit(")", 1)[1].split()[0] not in ("S", "D"):
        assert time.monotonic() < deadline, "the reading thread never blocked"
        time.sleep(0.02)
    time.sleep(settle)
