"""Writing sysfs attributes as `echo WORD > FILE` does, keeping the errno of the write."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


def write(path: Path, text: str) -> None:
    """One write() of `text` to `path` opened O_WRONLY|O_TRUNC, as a shell redirection does."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def write_errno(path: Path, text: str) -> int:
    """The errno the write fails with (the test fails if it succeeds)."""
    with pytest.raises(OSError) as err:
        write(path, text)
    return err.value.errno
