"""The emulator: one board's kernel model served as `DIR/dev` and `DIR/sys` through FUSE."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import trio
from kernel_cfg import Board, default_board

from fusedev.kernel.emu_debugfs import add_daemon_file
from fusedev.fuse.fuse_session import FuseMount
from fusedev.kernel.char_dev import proc_devices
from fusedev.kernel.kernel import Kernel
from fusedev.fuse.vfs import Directory

log = logging.getLogger(__name__)

class Emulator:
    """Builds the tree at construction; `serve()` mounts it and boots the board."""

    def __init__(self, board: Board | None = None) -> None:
        self.board = board or default_board()
        self.root = Directory()
        self.kernel = Kernel(self.board, self.root)
        add_daemon_file(self.root, self.board)
        self.mount: FuseMount | None = None
        self._cancel = trio.CancelScope()

    async def serve(self, mount_dir: str | os.PathLike[str], *, allow_other: bool = False,
                    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Mount, boot, report started once usable, serve until `close()`; then tear down."""
        self.mount = FuseMount(self.root, Path(mount_dir), allow_other=allow_other)
        mount = self.mount
        self.kernel.irq_controller = mount.irq_lines
        with self._cancel:
            async with trio.open_nursery() as nursery:

                async def serve_mount(task_status: trio.TaskStatus[None]) -> None:
                    await mount.serve(task_status=task_status)
                    nursery.cancel_scope.cancel()  # unmounted from outside: we are done

                await nursery.start(serve_mount)
                try:
                    await self.kernel.boot(nursery)
                    task_status.started()
                    await trio.sleep_forever()
                finally:
                    self.kernel.shutdown()
                    mount.close()

    def close(self) -> None:
        self._cancel.cancel()

    def proc_devices(self, host_text: str) -> str:
        """/proc/devices under `run`: the host's with the emulated char majors in."""
        return proc_devices(host_text, self.kernel.proc_devices())

    def describe(self) -> str:
        board = self.board
        lines = [f"board {board.name}: {board.soc.family} ({board.soc.machine}), "
                 f"kernel profile {board.profile.name} ({board.profile.kernel_release})"]
        for rproc in self.kernel.rprocs:
            spec = rproc.spec
            firmware = rproc.resolve_firmware(rproc.firmware)
            rid = f"rproc id {spec.rproc_id:2d}" if spec.rproc_id >= 0 else "no rproc id"
            lines.append(f"  {rid} {spec.id_name:<12} {spec.device:<16} "
                         f"remoteproc{rproc.index}  {rproc.state:<8} firmware {firmware}")
        return "\n".join(lines)
