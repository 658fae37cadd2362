"""The core's trace buffer: a fixed-size text ring the firmware logs into (remoteproc's trace0)."""

from __future__ import annotations

import threading
import time
from collections import deque

DEFAULT_TRACE_SIZE = 64 * 1024


class TraceBuffer:
    def __init__(self, size: int = DEFAULT_TRACE_SIZE) -> None:
        self.size = size
        self._lines: deque[str] = deque()
        self._bytes = 0
        self._t0 = time.monotonic()
        self._lock = threading.Lock()  # the core's thread writes, Linux's reads and writes

    def write(self, message: str) -> None:
        """Append one line stamped with seconds since boot; the oldest lines fall out when full."""
        line = f"[{time.monotonic() - self._t0:12.6f}] {message}\n"
        with self._lock:
            self._lines.append(line)
            self._bytes += len(line)
            while self._bytes > self.size and len(self._lines) > 1:
                self._bytes -= len(self._lines.popleft())

    def text(self) -> str:
        with self._lock:
            return "".join(self._lines)
