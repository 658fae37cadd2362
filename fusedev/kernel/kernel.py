"""The emulated kernel of one board: buses, classes, drivers, id pools and the remote cores.

Built from a `kernel_cfg.Board`: the SoC device (`/sys/devices/soc0`), a platform device and
a remoteproc for every remote core of the SoC, the rpmsg drivers the kernel profile has, and
the debugfs entries. `boot()` powers up the cores the board starts automatically.
"""
from __future__ import annotations

import logging

import trio
from kernel_cfg import Board

from fusedev.kernel.driver_core import Device, DeviceNodePolicy, Driver, DriverCore
from fusedev.kernel.ida import Ida
from fusedev.kernel.remoteproc import Rproc
from fusedev.kernel.rpmsg_chrdev import ChrdevDriver
from fusedev.kernel.rpmsg_ctrl import CtrlDriver
from fusedev.kernel.rpmsg_ns import NameServiceDriver
from fusedev.kernel.rpmsg_trace import TracePipe
from fusedev.kernfs_file import mark_debugfs
from fusedev.vfs import Directory

log = logging.getLogger(__name__)

# Dynamic char majors as a TI AM62x board shows them (reference ti-rpmsg-char §4.8).
CHAR_MAJORS = {"rpmsg_char": 234, "rpmsg_ctrl": 511, "rpmsg": 234}
REMOTEPROC_DRIVERS = {"M4F": "k3-m4-rproc", "R5F": "k3_r5_rproc", "C66": "k3-dsp-rproc",
                      "C71": "k3-dsp-rproc"}
SYSFS_SKELETON = ("block", "bus", "class", "dev/block", "dev/char", "devices/system", "firmware",
                  "fs", "kernel/debug", "module", "power")


class KindDriver(Driver):
    """A platform driver binding the remote-core devices of one kind (k3-m4-rproc, …)."""

    def __init__(self, name: str, kinds: set[str]) -> None:
        super().__init__(name)
        self.kinds = kinds

    def match(self, dev: Device) -> bool:
        return dev.data in self.kinds


class VirtioRpmsgDriver(Driver):
    def match(self, dev: Device) -> bool:
        return dev.modalias.startswith("virtio:d00000007")


class Kernel:
    """Everything the Linux side of one board holds."""

    def __init__(self, board: Board, root: Directory) -> None:
        self.board = board
        self.profile = board.profile
        self.nursery: trio.Nursery | None = None  # set by boot()
        self.core = DriverCore(root, DeviceNodePolicy(board.dev_uid, board.dev_gid,
                                                       board.dev_mode))
        for path in SYSFS_SKELETON:
            self.core.sys.makedirs(path)
        self.platform_bus = self.core.bus("platform")
        self.virtio_bus = self.core.bus("virtio")
        self.rpmsg_bus = self.core.bus("rpmsg")
        self.remoteproc_class = self.core.device_class("remoteproc")
        self.rpmsg_class = self.core.device_class("rpmsg")
        self.rproc_ida = Ida()
        self.virtio_ida = Ida()
        self.platform_auto_ida = Ida()
        self.ept_ida = Ida()
        self.ctrl_ida = Ida()
        regions = self.profile.chrdev_regions
        self.char_major = CHAR_MAJORS[regions[0]]
        self.ctrl_major = CHAR_MAJORS[regions[-1]]
        self.char_minors = Ida(0, (1 << 20) - 1)
        # Before 5.18 one "rpmsg" region (and one minor pool) served ctrl and ept devices.
        self.ctrl_minors = self.char_minors if len(regions) == 1 else Ida(0, (1 << 20) - 1)
        debug = self.core.sys.makedirs("kernel/debug")
        mark_debugfs(debug)
        self.debugfs_remoteproc = debug.mkdir("remoteproc", mode=0o700)
        self.trace = TracePipe()
        debug.mkdir("rpmsg_emu").device("trace_pipe", self.trace, mode=0o400)
        self._add_soc_device()
        self.ns_driver = NameServiceDriver()
        self.rpmsg_bus.register_driver(CtrlDriver(self))
        self.rpmsg_bus.register_driver(self.ns_driver)
        self.rpmsg_bus.register_driver(ChrdevDriver(self))
        self.virtio_bus.register_driver(VirtioRpmsgDriver("virtio_rpmsg_bus"))
        for name in sorted(set(REMOTEPROC_DRIVERS.values())):
            kinds = {k for k, v in REMOTEPROC_DRIVERS.items() if v == name}
            self.platform_bus.register_driver(KindDriver(name, kinds))
        self.rprocs = [self._add_rproc(spec) for spec in board.soc.rprocs]

    def _add_soc_device(self) -> None:
        soc = self.board.soc
        dev = Device("soc0", bus=self.core.bus("soc"))
        dev.attribute("family", lambda: f"{soc.family}\n")
        dev.attribute("machine", lambda: f"{soc.machine}\n")
        dev.attribute("revision", lambda: f"{soc.revision}\n")
        dev.attribute("soc_id", lambda: f"{soc.family.lower()}\n")
        self.core.device_add(dev)

    def _add_rproc(self, spec) -> Rproc:
        platform_dev = Device(spec.device, bus=self.platform_bus, sysfs_parent=spec.parent_path,
                              modalias=f"of:N{spec.device}", data=spec.kind)
        self.core.device_add(platform_dev)
        rproc = Rproc(self, spec, platform_dev, self.board.cores.get(spec.rproc_id))
        rproc.register()
        return rproc

    def rproc(self, rproc_id: int) -> Rproc:
        return next(r for r in self.rprocs if r.spec.rproc_id == rproc_id)

    def boot(self, nursery: trio.Nursery) -> None:
        """Power up the cores the board starts at boot."""
        self.nursery = nursery
        for rproc in self.rprocs:
            config = rproc.config
            if config is not None and config.autostart:
                rproc.boot()

    def shutdown(self) -> None:
        """Stop every running core, removing its devices, as a poweroff does."""
        for rproc in self.rprocs:
            if rproc.power:
                rproc.power = 1
                try:
                    rproc.shutdown()
                except OSError:
                    rproc.core.stop()
