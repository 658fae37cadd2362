"""Finding a firmware by name, as remoteproc does through request_firmware().

Search order: built-ins, installed plugins (entry-point group `rpmsg_emu.firmware`), then a
file in the board's firmware directories, in the order given (`NAME`, then `NAME.py`).

Names are checked first, like the kernel: empty → EINVAL, and `..` → EINVAL (the firmware
loader's path-traversal check). The kernel allows sub-directories in a name; we refuse `/` as
well (EINVAL) because board firmware directories are flat, and a file whose real path leaves its
directory (a symlink out) is never loaded. Not found anywhere → ENOENT, as request_firmware.

A file is Python source run in this process, so it is trusted only as far as its path is:
- run as root, the file and every directory up to / must belong to root or to us and be
  writable by nobody else (sshd's StrictModes rule; a sticky directory such as /tmp counts as
  safe, since nobody else can rename or replace what root owns in it), else EACCES;
- a file with more than one hard link is refused whoever runs us (EACCES): the other name may
  lie anywhere, and whoever controls it controls the firmware;
- a real ELF image (what a board's /lib/firmware holds) is refused with EINVAL, as the
  kernel's rproc_elf_sanity_check refuses an image it cannot load, and a message saying that
  rpmsg-emu runs Python firmware (docs/firmware.md).
The file is opened once and its checked descriptor is what gets read, so it cannot be swapped
between the check and the load.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence

from .builtin import BUILTIN_FIRMWARES
from .errors import FirmwareImageError, FirmwareNameError, FirmwareNotFoundError, FirmwareUnsafeError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "rpmsg_emu.firmware"
ELF_MAGIC = b"\x7fELF"
DOCS = "docs/firmware.md"


@dataclass(frozen=True)
class LoadedFirmware:
    name: str
    origin: str
    """Where it came from: "builtin", "plugin <dist>", or the file's path."""
    main: Callable[[Any], Awaitable[None]]


def check_firmware_name(name: str) -> None:
    if not name:
        raise FirmwareNameError(name, "empty")
    if ".." in name:
        raise FirmwareNameError(name, "contains '..'")
    if "/" in name or "\0" in name:
        raise FirmwareNameError(name, "contains '/' or NUL")


def load_firmware(name: str, firmware_dirs: Sequence[Path] = ()) -> LoadedFirmware:
    """Resolve and load `name`; raises FirmwareNameError (EINVAL), FirmwareNotFoundError
    (ENOENT), FirmwareUnsafeError (EACCES) or FirmwareImageError (EINVAL: an ELF image, or
    found but has no async main)."""
    check_firmware_name(name)
    if name in BUILTIN_FIRMWARES:
        return _checked(name, "builtin", importlib.import_module(BUILTIN_FIRMWARES[name]))
    from importlib.metadata import entry_points  # a built-in firmware boots without it

    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        dist = ep.dist.name if ep.dist is not None else ep.value
        return _checked(name, f"plugin {dist}", ep.load())
    for directory in firmware_dirs:
        path = _find_in_dir(Path(directory), name)
        if path is not None:
            return _checked(name, str(path), _exec_file(name, path))
    searched = ", ".join(str(d) for d in firmware_dirs) or "no firmware directories"
    raise FirmwareNotFoundError(name, f"not built in, no plugin, not in {searched}")


def _find_in_dir(directory: Path, name: str) -> Path | None:
    root = directory.resolve()
    for candidate in (directory / name, directory / f"{name}.py"):
        if not candidate.is_file():
            continue
        real = candidate.resolve()
        if real.parent != root:
            log.warning("firmware %s resolves outside %s; not loaded", candidate, directory)
            continue
        return real
    return None


def _exec_file(name: str, path: Path) -> Any:
    """Load a fresh module from `path` each time: a restart reloads the firmware image."""
    source = _read_trusted(name, path)
    if source.startswith(ELF_MAGIC):
        raise FirmwareImageError(name, f"{path} is an ELF image; rpmsg-emu runs firmware written in "
                                       f"Python (a file with `async def main(ctx)`), see {DOCS}")
    module_name = "rpmsg_emu_firmware_" + re.sub(r"\W", "_", name)
    spec = importlib.util.spec_from_loader(module_name, loader=None, origin=str(path))
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)
    except Exception as exc:
        raise FirmwareImageError(name, f"{path}: {exc!r}") from exc
    return module


def _read_trusted(name: str, path: Path) -> bytes:
    """The file's bytes, read through the descriptor whose owner, mode and links were checked."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise FirmwareUnsafeError(name, f"cannot open {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as file:
        st = os.fstat(file.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise FirmwareUnsafeError(name, f"{path} is not a regular file")
        if st.st_nlink > 1:
            raise FirmwareUnsafeError(name, f"{path} has {st.st_nlink} hard links; its other names "
                                            "may lie outside the firmware directory")
        if os.geteuid() == 0:
            _check_writers(name, path, st)
            for directory in path.parents:
                _check_writers(name, directory, os.stat(directory))
        return file.read()


def _check_writers(name: str, path: Path, st: os.stat_result) -> None:
    """Refuse what a user other than root or us owns, or what group or others may write
    (a sticky directory excepted: its entries can be replaced only by their owner)."""
    uid = os.geteuid()
    if st.st_uid not in (0, uid):
        raise FirmwareUnsafeError(name, f"{path} belongs to uid {st.st_uid}, neither root nor us")
    sticky_dir = stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not sticky_dir:
        who = "others" if st.st_mode & stat.S_IWOTH else "its group"
        raise FirmwareUnsafeError(name, f"{path} is writable by {who} (mode "
                                        f"{stat.S_IMODE(st.st_mode):04o}); chmod go-w it")


def _checked(name: str, origin: str, firmware: Any) -> LoadedFirmware:
    main = getattr(firmware, "main", None)
    if not inspect.iscoroutinefunction(main):
        raise FirmwareImageError(name, f"{origin} has no `async def main(ctx)`")
    log.debug("firmware %r from %s", name, origin)
    return LoadedFirmware(name, origin, main)
