"""Serve an emulated board from a thread of the test process.

The emulator's trio loop runs in its own thread, so the test's blocking syscalls on the
mount are served exactly as for any other program; the GIL is released while they block.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import trio
from kernel_cfg import Board, board_from_dict, default_board, soc_by_family

from fusedev.fuse import mountpoint
from fusedev.cli.emulator import Emulator


def make_board(soc: str = "am62x", kernel: str = "ti-6.x",
               firmware: dict[int, str] | None = None,
               core: dict[int, dict[str, Any]] | None = None, **extra: Any) -> Board:
    """A board for a test: `firmware` per rproc id, `core` adds per-core settings."""
    if soc == "am62x" and kernel == "ti-6.x" and firmware is None and not core and not extra:
        return default_board()
    if firmware is None:  # every core of the SoC runs the echo firmware
        firmware = {i: "echo" for i in soc_by_family(soc).rproc_ids}
    table: dict[str, Any] = {"soc": soc, "profile": kernel, **extra,
                             "cores": {str(i): {"firmware": name, **(core or {}).get(i, {})}
                                       for i, name in firmware.items()}}
    return board_from_dict(table, Path("."))


def with_firmware(tmp_path: Path, firmware: dict[int, str], sources: dict[str, str],
                  **board: Any) -> "EmulatorThread":
    """A board mounted at tmp_path/board whose firmware `sources` (name → Python text) are files
    of a firmware directory made for the test, as a user's own firmware would be."""
    firmware_dir = tmp_path / "firmware"
    firmware_dir.mkdir()
    for name, source in sources.items():
        (firmware_dir / f"{name}.py").write_text(source)
    root = tmp_path / "board"
    root.mkdir()
    return EmulatorThread(make_board(firmware=firmware, firmware_dirs=[str(firmware_dir)],
                                     **board), root)


class EmulatorThread:
    """A mounted emulator; `root` is the mount directory (DIR/dev, DIR/sys)."""

    def __init__(self, board: Board, root: Path) -> None:
        self.root = root
        self.emulator = Emulator(board)
        self._token: trio.lowlevel.TrioToken | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise TimeoutError("emulator did not come up")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        async def main() -> None:
            self._token = trio.lowlevel.current_trio_token()
            async with trio.open_nursery() as nursery:
                await nursery.start(self.emulator.serve, self.root)
                self._ready.set()

        try:
            trio.run(main)
        except BaseException as exc:  # reported to the test that started us
            self._error = exc
            self._ready.set()

    def call(self, fn, *args):
        """Run `fn(*args)` in the emulator's thread (for state only a test can set up)."""
        return trio.from_thread.run_sync(fn, *args, trio_token=self._token)

    def stop(self) -> None:
        if self._thread.is_alive() and self._token is not None:
            try:
                trio.from_thread.run_sync(self.emulator.close, trio_token=self._token)
            except trio.RunFinishedError:
                pass
            self._thread.join(20)
        if str(self.root) in mountpoint.fuse_mounts():
            mountpoint.detach(self.root)
        if self._error is not None:
            raise self._error
