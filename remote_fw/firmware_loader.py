"""Finding a firmware by name, as remoteproc does through request_firmware().

Search order: built-ins, installed plugins (entry-point group `rpmsg_emu.firmware`), then a
file in the board's firmware directories, in the order given (`NAME`, then `NAME.py`).

Names are checked first, like the kernel: empty → EINVAL, and `..` → EINVAL (the firmware
loader's path-traversal check). The kernel allows sub-directories in a name; we refuse `/` as
well (EINVAL) because board firmware directories are flat, and a file whose real path leaves its
directory (a symlink out) is never loaded. Not found anywhere → ENOENT, as request_firmware.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import inspect
import logging
import re
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence

from .builtin import BUILTIN_FIRMWARES
from .errors import FirmwareImageError, FirmwareNameError, FirmwareNotFoundError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "rpmsg_emu.firmware"


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
    (ENOENT) or FirmwareImageError (EINVAL: found but has no async main)."""
    check_firmware_name(name)
    if name in BUILTIN_FIRMWARES:
        return _checked(name, "builtin", importlib.import_module(BUILTIN_FIRMWARES[name]))
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
    module_name = "rpmsg_emu_firmware_" + re.sub(r"\W", "_", name)
    loader = importlib.machinery.SourceFileLoader(module_name, str(path))
    spec = importlib.util.spec_from_loader(module_name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    try:
        loader.exec_module(module)
    except Exception as exc:
        raise FirmwareImageError(name, f"{path}: {exc!r}") from exc
    return module


def _checked(name: str, origin: str, firmware: Any) -> LoadedFirmware:
    main = getattr(firmware, "main", None)
    if not inspect.iscoroutinefunction(main):
        raise FirmwareImageError(name, f"{origin} has no `async def main(ctx)`")
    log.debug("firmware %r from %s", name, origin)
    return LoadedFirmware(name, origin, main)
