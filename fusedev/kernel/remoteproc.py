"""remoteproc: one remote processor, its sysfs class device and its state machine.

`state` takes start/stop with the errnos of reference §5.3, `firmware` names what boots next,
`recovery` and `coredump` behave as in remoteproc_sysfs.c. Booting starts the simulated core
(remote_fw) and adds a fresh vdev; stopping removes the vdev (every rpmsg device under it)
before the core is powered off. A crash stops the core at once; with recovery enabled the
kernel then stops and restarts it (fresh devices, new numbers), with recovery disabled it
stays crashed, devices and all, until `recover`.
"""
from __future__ import annotations

import errno
import logging
from typing import TYPE_CHECKING

from remote_fw import CoreTiming, RemoteCore

from fusedev.fileops import FsError
from fusedev.kernel.driver_core import Device
from fusedev.kernel.remoteproc_debugfs import add_debugfs
from fusedev.kernel.remoteproc_virtio import RprocVdev

if TYPE_CHECKING:
    from kernel_cfg import CoreConfig, RemoteProc

    from fusedev.kernel.kernel import Kernel

log = logging.getLogger(__name__)

OFFLINE, RUNNING, CRASHED = "offline", "running", "crashed"
COREDUMP_MODES = ("disabled", "enabled", "inline")


def _word(data: bytes) -> str:
    """sysfs_streq: compare ignoring one trailing newline."""
    text = data.decode(errors="replace")
    return text[:-1] if text.endswith("\n") else text


class Rproc:
    """`struct rproc` for one remote core of the board."""

    def __init__(self, kernel: Kernel, spec: RemoteProc, platform_dev: Device,
                 config: CoreConfig | None) -> None:
        self.kernel = kernel
        self.spec = spec
        self.config = config
        self.name = spec.device
        self.platform_dev = platform_dev
        self.firmware = spec.default_firmware
        self.state = OFFLINE
        self.power = 0
        self.recovery_disabled = spec.kind == "R5F"  # the K3 R5F driver disables recovery
        self.coredump = "disabled"
        self.vdev: RprocVdev | None = None
        board = kernel.board
        self.core = RemoteCore(spec.device,
                               num_bufs=config.num_bufs if config else 256,
                               buf_size=config.buf_size if config else 512,
                               firmware_dirs=board.firmware_dirs,
                               timing=CoreTiming(config.processing_us / 1e6,
                                                 config.irq_latency_us / 1e6) if config else None)
        self.core.on_crash = self._firmware_fault
        self.index = kernel.rproc_ida.alloc()
        self.dev = Device(f"remoteproc{self.index}", parent=platform_dev,
                          cls=kernel.remoteproc_class, devtype="remoteproc", data=self)
        self.dev.attribute("name", lambda: f"{self.name}\n")
        self.dev.attribute("state", lambda: f"{self.state}\n", self._store_state, 0o644)
        self.dev.attribute("firmware", lambda: f"{self.firmware}\n", self._store_firmware,
                           0o644)
        self.dev.attribute("recovery", self.show_recovery, self.store_recovery, 0o644)
        self.dev.attribute("coredump", lambda: f"{self.coredump}\n", self._store_coredump,
                           0o644)

    def register(self) -> None:
        self.kernel.core.device_add(self.dev)
        self.debugfs = add_debugfs(self.kernel.debugfs_remoteproc, self)

    # ---- state machine -------------------------------------------------------------------

    def boot(self) -> None:
        """rproc_boot: power on (or just count another user when already powered)."""
        if self.power:
            if self.state == RUNNING and self.kernel.profile.start_while_running_errno:
                raise FsError(self.kernel.profile.start_while_running_errno)
            self.power += 1
            return
        self._start()
        self.power = 1

    def _start(self) -> None:
        firmware = self.resolve_firmware(self.firmware)
        try:
            self.core.start(self.kernel.nursery, firmware,
                            self.config.config if self.config else None)
        except OSError as exc:
            log.warning("%s: cannot load firmware %s: %s", self.name, self.firmware, exc)
            raise FsError(exc.errno or errno.EINVAL, str(exc)) from exc
        host = self.core.host
        assert host is not None
        self.vdev = RprocVdev(self.kernel, self.dev, self.index, self.name, host)
        self.state = RUNNING
        self.vdev.add()
        log.info("%s: powered up with %s", self.name, self.firmware)

    def resolve_firmware(self, firmware: str) -> str:
        """The DT firmware name maps to the board's simulated firmware for this core."""
        if self.config is not None and firmware == self.spec.default_firmware:
            return self.config.firmware
        return firmware

    def shutdown(self) -> None:
        """rproc_shutdown: only a running processor stops; other users keep it up."""
        if self.state != RUNNING:
            raise FsError(errno.EINVAL)
        self.power -= 1
        if self.power > 0:
            return
        self._stop()
        self.state = OFFLINE
        log.info("%s: stopped", self.name)

    def _stop(self) -> None:
        if self.vdev is not None:
            vdev, self.vdev = self.vdev, None
            vdev.remove()
        self.core.stop()

    def crash(self, reason: str) -> None:
        """rproc_report_crash from debugfs: the core dies now."""
        if self.core.state == RUNNING:
            self.core.crash(reason)
        self._crashed()

    def _firmware_fault(self, reason: str) -> None:
        self._crashed()

    def _crashed(self) -> None:
        self.state = CRASHED
        log.warning("%s: crashed (recovery %s)", self.name,
                    "disabled" if self.recovery_disabled else "enabled")
        if not self.recovery_disabled:
            self.recover()

    def recover(self) -> None:
        """rproc_trigger_recovery: stop (removing every device) and start again."""
        self._stop()
        self.state = OFFLINE
        try:
            self._start()
        except FsError:
            log.error("%s: recovery failed", self.name)

    # ---- sysfs ---------------------------------------------------------------------------

    def _store_state(self, data: bytes) -> None:
        word = _word(data)
        if word == "start":
            if self.state == CRASHED:
                self.power += 1  # a crashed processor only counts the new user
                return
            self.boot()
        elif word == "stop":
            self.shutdown()
        else:
            raise FsError(errno.EINVAL)

    def _store_firmware(self, data: bytes) -> None:
        if self.state != OFFLINE:
            raise FsError(errno.EBUSY)
        name = data.decode(errors="replace").split("\n", 1)[0]
        if not name:
            raise FsError(errno.EINVAL)
        self.firmware = name

    def show_recovery(self) -> str:
        return "disabled\n" if self.recovery_disabled else "enabled\n"

    def store_recovery(self, data: bytes) -> None:
        word = _word(data)
        if word == "enabled":
            self.recovery_disabled = False
            if self.state == CRASHED:
                self.recover()
        elif word == "disabled":
            self.recovery_disabled = True
        elif word == "recover":
            if self.state == CRASHED:
                self.recover()
        else:
            raise FsError(errno.EINVAL)

    def _store_coredump(self, data: bytes) -> None:
        if self.state == CRASHED:
            raise FsError(errno.EBUSY)
        word = _word(data)
        if word not in COREDUMP_MODES:
            raise FsError(errno.EINVAL)
        self.coredump = word
