"""Which firmware names a board can load, checked before anything is mounted.

A board naming a firmware that exists nowhere is a mistake in the board or the options, so
`mount` and `run` refuse it at once (exit status 2) and list the names that do exist, instead
of booting a core that fails later with ENOENT in a log. The search follows
remote_fw.firmware_loader's order (built-ins, plugins, then `NAME` or `NAME.py` in the board's
firmware directories) but only looks: the firmware is loaded, and its file checked for safety,
when the core boots, as request_firmware() does on a board.
"""
from __future__ import annotations

import os
from pathlib import Path

from kernel_cfg import Board, BoardError
from remote_fw.builtin import BUILTIN_FIRMWARES
from remote_fw.firmware_loader import ENTRY_POINT_GROUP


def available(firmware_dirs: list[Path]) -> list[str]:
    """Every name a core of this board could load: built-ins, plugins, files in the dirs."""
    from importlib.metadata import entry_points  # not imported by a board of built-ins

    names = set(BUILTIN_FIRMWARES)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    for directory in firmware_dirs:
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            if os.path.isfile(os.path.join(directory, entry)):
                names.add(entry.removesuffix(".py"))
    return sorted(names)


def check_board_firmware(board: Board) -> None:
    """BoardError naming the first core whose firmware exists nowhere, and what does exist."""
    known: list[str] | None = None
    for rid, core in board.cores.items():
        if core.ipc_only or core.firmware in BUILTIN_FIRMWARES:  # nothing to look for
            continue
        if known is None:
            known = available(board.firmware_dirs)
        if core.firmware not in known and not _is_file_in(board.firmware_dirs, core.firmware):
            searched = ", ".join(str(d) for d in board.firmware_dirs)
            where = f" or in {searched}" if searched else " (the board has no firmware_dirs)"
            raise BoardError(f"core {rid}", "firmware",
                             f"{core.firmware!r} is not built in, not a plugin{where}; "
                             f"available: {', '.join(known)}")


def _is_file_in(firmware_dirs: list[Path], name: str) -> bool:
    return any(os.path.isfile(os.path.join(d, candidate))
               for d in firmware_dirs for candidate in (name, f"{name}.py"))
