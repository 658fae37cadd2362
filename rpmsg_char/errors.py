"""Exceptions that carry an errno and say which step of the walk or which file failed.

TI's C library returns NULL with a stale errno; here every failure names the step, the path and
the reason, while staying an `OSError` so `except OSError` and `e.errno` work as usual.
"""

import errno as _errno
import os


class RpmsgCharError(OSError):
    """A failed rpmsg_char operation: `errno`, `step` (what was being done), `path` (which file, if any)."""

    def __init__(self, err: int, message: str, *, step: str, path: str | None = None):
        super().__init__(err, message)
        self.step = step
        self.path = path

    @classmethod
    def from_os_error(cls, exc: OSError, message: str, *, step: str, path: str | None = None) -> "RpmsgCharError":
        """Wrap a system call failure, keeping its errno and appending the system's explanation."""
        err = exc.errno if exc.errno is not None else _errno.EIO
        return cls(err, f"{message}: {os.strerror(err)}", step=step, path=path)

    def __str__(self) -> str:
        name = _errno.errorcode.get(self.errno, str(self.errno))
        return f"{self.step}: {self.strerror} [{name}]"


class RpmsgTimeout(RpmsgCharError, TimeoutError):
    """No message arrived within the requested time."""
