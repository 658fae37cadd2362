"""remoteproc: one remote processor, its sysfs class device and its state machine.

drivers/remoteproc/remoteproc_core.c and remoteproc_sysfs.c (v6.x) with the TI K3 drivers'
choices (ti_k3_m4/r5/dsp_remoteproc.c): recovery is disabled on every K3 core, and a firmware
fault reaches Linux only as the mailbox's RP_MBOX_CRASH, which the K3 callback logs and does
nothing more with (no `rproc_report_crash`): the processor still reads `running`.

States: `offline` → `running` (rproc_fw_boot) → `offline` (rproc_shutdown); a core the board
runs in IPC-only mode (k3_r5_rproc_configure_mode) starts `detached` and the kernel attaches
to it at boot: `attached`, firmware `unknown`; `detach` and `start` (re-attach) work, `stop`
is EINVAL because IPC-only mode has no stop op. `crashed` comes from `rproc_report_crash`
(debugfs `crash`), see remoteproc_recovery. Booting starts the simulated core (remote_fw) and
adds a fresh vdev; stopping removes the vdev (every rpmsg device under it) first.
"""
from __future__ import annotations

import errno
import logging
from typing import TYPE_CHECKING, Callable

from kernel_cfg.core_faults import UNITS
from kernel_cfg.core_timing import core_timing
from remote_fw import CoreTiming, FaultPlan, RemoteCore

from fusedev.fuse.fileops import FsError
from fusedev.kernel.driver_core import Device
from fusedev.kernel.remoteproc_cdev import NUM_RPROC_DEVICES, RprocCdev
from fusedev.kernel.remoteproc_debugfs import RprocDebugfs
from fusedev.kernel.remoteproc_recovery import CrashHandler, crash_name
from fusedev.kernel.remoteproc_virtio import RprocVdev
from fusedev.kernel.sysfs_input import first_line, sysfs_streq

if TYPE_CHECKING:
    from kernel_cfg import CoreConfig, RemoteProc

    from fusedev.kernel.kernel import Kernel

log = logging.getLogger(__name__)

OFFLINE, RUNNING, CRASHED = "offline", "running", "crashed"
ATTACHED, DETACHED = "attached", "detached"
COREDUMP_MODES = ("disabled", "enabled", "inline")
# What the K3 mailbox callbacks call the core in "K3 %s rproc %s crashed" (TI 6.6 drivers).
K3_CRASH_NAMES = {"M4F": "K3 M4", "R5F": "K3 R5F", "C66": "K3 DSP", "C71": "K3 DSP"}


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
        # k3_r5_rproc_configure_mode found the core running (IPC-only): only attach/detach.
        self.ipc_only = bool(config is not None and config.ipc_only)
        self.state = DETACHED if self.ipc_only else OFFLINE
        self.power = 0
        self.recovery_disabled = True  # every K3 driver sets it; a real AM62x shows PRUs so too
        self.dump_conf = "disabled"
        self.cdev_put_on_release = False
        self.vdev: RprocVdev | None = None
        self.resources_held = False  # resource table and carveouts, boot/attach to cleanup
        self.num_bufs = config.num_bufs if config else 256
        board = kernel.board
        self.core = RemoteCore(spec.device, num_bufs=self.num_bufs,
                               buf_size=config.buf_size if config else 512,
                               firmware_dirs=board.firmware_dirs,
                               timing=_core_timing(spec.kind, config, board.timing),
                               faults=fault_plan(config.faults) if config else None)
        self.core.on_crash = self.on_firmware_fault
        self.core.on_fault = lambda kind, details: kernel.trace.event(
            self.name, "fault", fault=kind, **details)
        self.crash_handler = CrashHandler(self)
        self.index = kernel.rproc_ida.alloc()
        devt = None
        if self.index < NUM_RPROC_DEVICES:  # MKDEV(MAJOR(rproc_major), rproc->index)
            devt = (kernel.remoteproc_major, self.index)
        self.dev = Device(f"remoteproc{self.index}", parent=platform_dev,
                          cls=kernel.remoteproc_class, devtype="remoteproc", data=self,
                          devt=devt, fops=RprocCdev(self) if devt else None)
        # remoteproc_sysfs.c rproc_attrs, in its order
        self.dev.attribute("coredump", lambda: f"{self.dump_conf}\n", self._store_coredump,
                           0o644)
        self.dev.attribute("recovery", self.show_recovery, self._store_recovery, 0o644)
        self.dev.attribute("firmware", self._show_firmware, self._store_firmware, 0o644)
        self.dev.attribute("state", lambda: f"{self.state}\n", self._store_state, 0o644)
        self.dev.attribute("name", lambda: f"{self.name}\n")

    def register(self) -> None:
        self.kernel.core.device_add(self.dev)
        self.debugfs = RprocDebugfs(self.kernel.debugfs_remoteproc, self)

    @property
    def has_detach_command(self) -> bool:
        """`detach` exists in state_store and the cdev since v5.13 (rproc_detach)."""
        return self.kernel.profile.version >= (5, 13)

    # ---- state machine -------------------------------------------------------------------

    def boot(self) -> None:
        """rproc_boot: attach to a detached core, else load the firmware and power up; an
        already powered core only counts another user."""
        if self.power:
            self.power += 1
            return
        self.power = 1
        try:
            self._start(attach=self.state == DETACHED)
        except FsError:
            self.power = 0
            raise

    def _start(self, attach: bool) -> None:
        firmware = self.resolve_firmware(self.firmware)
        try:
            self.core.start(self.kernel.nursery, firmware,
                            self.config.config if self.config else None)
        except OSError as exc:
            log.warning("%s: request_firmware %s failed: %s", self.dev.name, self.firmware,
                        exc.strerror or exc)
            raise FsError(exc.errno or errno.EINVAL, str(exc)) from exc
        host = self.core.host
        assert host is not None
        self.resources_held = True
        self.debugfs.add_trace()
        self.vdev = RprocVdev(self.kernel, self.dev, self.index, self.name, host)
        self.state = ATTACHED if attach else RUNNING
        self.vdev.add()
        log.info("%s: remote processor %s is now %s", self.dev.name, self.name,
                 "attached" if attach else f"up ({self.firmware})")

    def resolve_firmware(self, firmware: str) -> str:
        """The DT firmware name maps to the board's simulated firmware for this core."""
        if self.config is not None and firmware == self.spec.default_firmware:
            return self.config.firmware
        return firmware

    def shutdown(self) -> None:
        """rproc_shutdown: only a running or attached processor; other users keep it up;
        an IPC-only core has no stop op (EINVAL, still attached)."""
        if self.state not in (RUNNING, ATTACHED):
            raise FsError(errno.EINVAL)
        self.power -= 1
        if self.power > 0:
            return
        if self.ipc_only:  # rproc_stop: !rproc->ops->stop
            self.power += 1
            raise FsError(errno.EINVAL)
        self._stop()
        self._cleanup()
        self.state = OFFLINE
        log.info("%s: stopped remote processor %s", self.dev.name, self.name)

    def detach(self) -> None:
        """rproc_detach: only an attached processor, once its last user lets go."""
        if self.state != ATTACHED:
            raise FsError(errno.EINVAL)
        self.power -= 1
        if self.power > 0:
            return
        if not self.ipc_only:  # __rproc_detach: !rproc->ops->detach
            self.power += 1
            raise FsError(errno.EINVAL)
        self._stop()
        self._cleanup()
        self.state = DETACHED
        log.info("%s: detached remote processor %s", self.dev.name, self.name)

    def _stop(self) -> None:
        if self.vdev is not None:
            vdev, self.vdev = self.vdev, None
            vdev.remove()
        self.core.stop()

    def _cleanup(self) -> None:
        """rproc_resource_cleanup: the trace file and the carveouts go."""
        self.resources_held = False
        self.debugfs.remove_trace()

    def poweroff(self) -> None:
        """The board powering down: every core stops, whatever its users or mode."""
        if self.power or self.state == CRASHED:
            self._stop()
            self._cleanup()
            self.power = 0
            self.state = DETACHED if self.ipc_only else OFFLINE

    # ---- crashes -------------------------------------------------------------------------

    def on_firmware_fault(self, reason: str) -> None:
        """RemoteCore.on_crash: the firmware faulted and its core halted. On a board the
        firmware's RP_MBOX_CRASH reaches k3_*_rproc_mbox_callback, which only logs it."""
        driver = K3_CRASH_NAMES.get(self.spec.kind, self.spec.kind)
        log.error("%s %s: %s rproc %s crashed (%s)", self.platform_dev.driver.name
                  if self.platform_dev.driver else "platform", self.name, driver, self.name,
                  reason)

    def report_crash(self, crash_type: int) -> None:
        """rproc_report_crash from debugfs `crash`; here the simulated core halts too."""
        if self.core.state == RUNNING and self.state not in (CRASHED, OFFLINE):
            self.core.crash(f"crash type {crash_type} ({crash_name(crash_type)})")
        self.crash_handler.report(f"type {crash_name(crash_type)}")

    def trigger_recovery(self) -> None:
        """rproc_trigger_recovery → rproc_boot_recovery: stop (removing every device), then
        load and start the firmware again. Nothing unless crashed."""
        if self.state != CRASHED:
            return
        log.info("%s: recovering %s", self.dev.name, self.name)
        if self.ipc_only:  # rproc_stop fails: no stop op; the core stays crashed
            return
        self._stop()
        self.state = OFFLINE  # rproc_stop; the resources (and power) are kept
        try:
            self._start(attach=False)
        except FsError:
            log.error("%s: recovery of %s failed", self.dev.name, self.name)

    # ---- sysfs ---------------------------------------------------------------------------

    def _store_state(self, data: bytes) -> None:
        """state_store: start, stop, detach (v5.13+), through rproc_boot/shutdown/detach."""
        profile = self.kernel.profile
        if sysfs_streq(data, "start"):
            if self.state == RUNNING and profile.start_while_running_errno:
                raise FsError(profile.start_while_running_errno)  # v5.10–5.18
            self.boot()
        elif sysfs_streq(data, "stop"):
            self.shutdown()
        elif sysfs_streq(data, "detach") and self.has_detach_command:
            self.detach()
        else:
            raise FsError(errno.EINVAL)

    def _show_firmware(self) -> str:
        """firmware_show: an attached core runs what someone else loaded."""
        return "unknown\n" if self.state == ATTACHED else f"{self.firmware}\n"

    def _store_firmware(self, data: bytes) -> None:
        """rproc_set_firmware: EBUSY unless offline, the name up to the first newline, EINVAL
        when that is empty. Bytes that are not UTF-8 are kept as the kernel keeps them."""
        if self.state != OFFLINE:
            raise FsError(errno.EBUSY)
        name = first_line(data)
        if not name:
            raise FsError(errno.EINVAL)
        self.firmware = name.decode("utf-8", "surrogateescape")

    def show_recovery(self) -> str:
        return "disabled\n" if self.recovery_disabled else "enabled\n"

    def _store_recovery(self, data: bytes) -> None:
        """recovery_store: the words compared with sysfs_streq."""
        self.set_recovery(lambda word: sysfs_streq(data, word))

    def set_recovery(self, says: Callable[[str], bool]) -> None:
        """recovery_store and debugfs rproc_recovery_write alike: `enabled` (and recover if
        crashed), `disabled`, `recover`; each caller compares the input its own way."""
        if says("enabled"):
            self.recovery_disabled = False
            self.crash_handler.user_recovery()
        elif says("disabled"):
            self.recovery_disabled = True
        elif says("recover"):
            self.crash_handler.user_recovery()
        else:
            raise FsError(errno.EINVAL)

    def _store_coredump(self, data: bytes) -> None:
        """coredump_store: EBUSY while crashed, else one of the three words."""
        if self.state == CRASHED:
            raise FsError(errno.EBUSY)
        for word in COREDUMP_MODES:
            if sysfs_streq(data, word):
                self.dump_conf = word
                return
        raise FsError(errno.EINVAL)


def _core_timing(kind: str, config: CoreConfig | None, mode: str) -> CoreTiming:
    """The board's timing keys (µs, ns, ms) over the defaults of the core's kind."""
    t = core_timing(kind, config, mode)
    return CoreTiming(processing=t.processing_us / 1e6, irq_latency=t.irq_latency_us / 1e6,
                      per_byte=t.per_byte_ns / 1e9, watchdog=t.watchdog_ms / 1e3)


def fault_plan(table: dict) -> FaultPlan:
    """A board's [cores.<id>.faults] table (µs, ms; kernel_cfg/core_faults.py) as a plan."""
    plan = {}
    for key, value in table.items():
        name, scale = UNITS.get(key, (key, None))
        plan[name] = value * scale if scale else value
    return FaultPlan(**plan)
