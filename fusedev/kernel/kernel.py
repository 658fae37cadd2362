"""The emulated kernel of one board: buses, classes, drivers, id pools and the remote cores.

Built from a `kernel_cfg.Board`: the SoC device (`/sys/devices/soc0`), the device-tree
platform devices (the `bus@…` buses, the mailbox, every remote core), a remoteproc for every
core in the board's probe order, the drivers and the modules TI's SDK loads for them, and the
debugfs entries. `boot()` powers up the cores the board starts automatically, one at a time.
"""
from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING

import trio
from kernel_cfg import Board, RemoteProc
from kernel_cfg.soc import of_compatible, of_parent_compatible

from fusedev.kernel.char_dev import CharDevRegions, board_majors, board_regions
from fusedev.kernel.dma_heap import DmaHeaps
from fusedev.kernel.driver_core import Bus, Device, DeviceNodePolicy, Driver, DriverCore
from fusedev.kernel.fault_debugfs import add_fault_files
from fusedev.kernel.ida import Ida
from fusedev.kernel.module_sysfs import DRIVER_MODULES, ModuleSysfs
from fusedev.kernel.of_device import OfNode, node_name
from fusedev.kernel.platform import NameDriver, OfDriver, platform_device
from fusedev.kernel.remoteproc import Rproc
from fusedev.kernel.rpmsg_chrdev import ChrdevDriver
from fusedev.kernel.rpmsg_ctrl import CtrlDriver
from fusedev.kernel.rpmsg_ns import NameServiceDriver
from fusedev.kernel.rpmsg_trace import TracePipe
from fusedev.fuse.kernfs_file import mark_debugfs
from fusedev.fuse.vfs import Directory

if TYPE_CHECKING:
    from remote_fw.host_transport import InterruptController

log = logging.getLogger(__name__)

# Name → dynamic char major, allocated in the board's registration order (char_dev.py):
# rpmsg_char 234 and rpmsg_ctrl 511 as on a real AM62x SK; "rpmsg" before 5.18.
CHAR_MAJORS = {**board_majors(("rpmsg",)), **board_majors(("rpmsg_char", "rpmsg_ctrl"))}
BOOT_SETTLE_TIMEOUT = 2.0  # seconds a core's firmware may take to announce before the next boots
REMOTEPROC_DRIVERS = {"M4F": "k3-m4-rproc", "R5F": "k3_r5_rproc", "C66": "k3-dsp-rproc",
                      "C71": "k3-dsp-rproc", "PRU": "pru-rproc"}
SYSFS_SKELETON = ("block", "bus", "class", "dev/block", "dev/char", "devices/system", "firmware",
                  "fs", "kernel/debug", "module", "power")


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
        for _ in range(board.soc.platform_auto_ids):  # held by the board's other devices
            self.platform_auto_ida.alloc()
        self.ept_ida = Ida()
        self.ctrl_ida = Ida()
        regions = self.profile.chrdev_regions
        self.chrdevs: CharDevRegions = board_regions()
        for region in regions:  # the rpmsg modules load after the built-in drivers
            self.chrdevs.alloc(region)
        majors = self.chrdevs.named()
        self.char_major = majors[regions[0]]
        self.ctrl_major = majors[regions[-1]]
        self.remoteproc_major = majors["remoteproc"]  # remoteproc_cdev.c rproc_init_cdev
        self.char_minors = Ida(0, (1 << 20) - 1)
        # Before 5.18 one "rpmsg" region (and one minor pool) served ctrl and ept devices.
        self.ctrl_minors = self.char_minors if len(regions) == 1 else Ida(0, (1 << 20) - 1)
        debug = self.core.sys.makedirs("kernel/debug")
        mark_debugfs(debug)
        self.debugfs_remoteproc = debug.mkdir("remoteproc", mode=0o755)  # debugfs_create_dir
        self.trace = TracePipe()
        # Set by whoever serves the tree (cli/emulator.py: the FUSE loop), which then runs the
        # cores' interrupt handlers in C; None: each virtio device's task waits on its line.
        self.irq_controller: InterruptController | None = None
        emu_debug = debug.mkdir("rpmsg_emu")  # the emulator's own, not the kernel's
        emu_debug.device("trace_pipe", self.trace, mode=0o400)
        self._add_soc_device()
        self.dma_heaps = DmaHeaps(self)  # subsys_initcall dma_heap_init, then the heaps
        self.modules = ModuleSysfs(self.core.sys)
        self.ns_driver = NameServiceDriver()
        self._register(self.rpmsg_bus, CtrlDriver(self))
        self._register(self.rpmsg_bus, self.ns_driver)
        self._register(self.rpmsg_bus, ChrdevDriver(self))
        self._register(self.virtio_bus, VirtioRpmsgDriver("virtio_rpmsg_bus"))
        specs = probe_order(board)
        self._register_platform_drivers(specs)
        # drivers/base/platform.c `platform_bus`: /sys/devices/platform is a device too.
        self.platform_root = Device("platform")
        self.core.device_add(self.platform_root)
        self._platform_nodes: dict[str, Device] = {}
        for mailbox in board.soc.mailboxes:
            parent = self._platform_parent(mailbox.parent_path)
            self.core.device_add(self._of_platform_device(mailbox.device, parent,
                                                          mailbox.compatible))
        self.rprocs = [self._add_rproc(spec) for spec in specs]
        add_fault_files(emu_debug, self.rprocs)

    def _add_soc_device(self) -> None:
        soc = self.board.soc
        dev = Device("soc0", bus=self.core.bus("soc"))
        dev.attribute("family", lambda: f"{soc.family}\n")
        dev.attribute("machine", lambda: f"{soc.machine}\n")
        dev.attribute("revision", lambda: f"{soc.revision}\n")
        dev.attribute("soc_id", lambda: f"{soc.family.lower()}\n")
        self.core.device_add(dev)

    def _register(self, bus: Bus, driver: Driver) -> None:
        """Register `driver`, with its module's sysfs entries when TI builds it as one."""
        bus.register_driver(driver)
        info = DRIVER_MODULES.get(driver.name)
        if info is not None and driver.name in self.profile_modules() and driver.dir:
            self.modules.add_driver(driver.dir, bus.name, info)

    def profile_modules(self) -> set[str]:
        """Drivers TI's SDK builds as modules; before 5.18 rpmsg_ctrl was part of rpmsg_char."""
        names = set(DRIVER_MODULES)
        if "rpmsg_ctrl" not in self.profile.chrdev_regions:
            names.discard("rpmsg_ctrl")
        return names

    def _register_platform_drivers(self, specs: list[RemoteProc]) -> None:
        """The platform drivers the board's devices need, each with its of_match table."""
        soc = self.board.soc
        tables: dict[str, set[str]] = {"simple-pm-bus": {"simple-bus"}}
        for mailbox in soc.mailboxes:
            tables.setdefault(mailbox.driver, set()).update(mailbox.compatible)
        for spec in specs:
            driver = REMOTEPROC_DRIVERS[spec.kind]
            # The K3 R5F driver binds the cluster (r5fss), whose probe creates the cores.
            bound = self._parent_node(spec) if spec.kind == "R5F" else spec.device
            compatible = (of_parent_compatible(soc, node_name(bound)) if spec.kind == "R5F"
                          else of_compatible(soc, spec))
            tables.setdefault(driver, set()).update(compatible)
            if spec.kind == "PRU":
                tables.setdefault("pruss", set()).update(
                    of_parent_compatible(soc, node_name(self._parent_node(spec))))
        for name in sorted(tables):
            driver = OfDriver(name, tables[name])
            driver.suppress_bind_attrs = name == "pru-rproc"  # pru_rproc.c, as the SK shows
            self._register(self.platform_bus, driver)
        self._register(self.platform_bus, NameDriver("rproc-virtio"))  # remoteproc_virtio.c

    @staticmethod
    def _parent_node(spec: RemoteProc) -> str:
        return spec.parent_path.rsplit("/", 1)[-1]

    def _platform_parent(self, path: str) -> Device:
        """The platform device at `path` ("platform/bus@f0000/…"), made with its parents."""
        parent = self.platform_root
        parts = path.split("/")[1:]
        for i, part in enumerate(parts):
            key = "/".join(parts[:i + 1])
            dev = self._platform_nodes.get(key)
            if dev is None:
                compatible = of_parent_compatible(self.board.soc, node_name(part))
                dev = self._of_platform_device(part, parent, compatible)
                self.core.device_add(dev)
                self._platform_nodes[key] = dev
            parent = dev
        return parent

    def _of_platform_device(self, name: str, parent: Device,
                            compatible: tuple[str, ...]) -> Device:
        parent_node = parent.of_node.full_name if parent.of_node else ""
        node = OfNode(f"{parent_node}/{node_name(name)}", compatible)
        return platform_device(name, self.platform_bus, parent=parent, of_node=node)

    def _add_rproc(self, spec: RemoteProc) -> Rproc:
        parent = self._platform_parent(spec.parent_path)
        platform_dev = self._of_platform_device(spec.device, parent,
                                                of_compatible(self.board.soc, spec))
        self.core.device_add(platform_dev)
        rproc = Rproc(self, spec, platform_dev, self.board.cores.get(spec.rproc_id))
        rproc.register()
        return rproc

    def rproc(self, rproc_id: int) -> Rproc:
        return next(r for r in self.rprocs if r.spec.rproc_id == rproc_id)

    async def boot(self, nursery: trio.Nursery) -> None:
        """Power up the cores the board starts at boot, one after the other in probe order.

        Each core's firmware start-up is awaited (`RemoteCore.settled`: its announcements
        reached Linux and became devices) before the next core starts, so virtioN, rpmsgN
        and rpmsg_ctrlN follow the board's order whatever the scheduling or the load. A
        firmware still busy after BOOT_SETTLE_TIMEOUT lets the next core start anyway.
        """
        self.nursery = nursery
        for rproc in self.rprocs:
            config = rproc.config
            if config is not None and config.autostart:
                rproc.boot()
                with trio.move_on_after(BOOT_SETTLE_TIMEOUT) as waited:
                    await rproc.core.settled()
                if waited.cancelled_caught:
                    log.warning("%s: firmware start-up not over after %.1f s; booting on",
                                rproc.name, BOOT_SETTLE_TIMEOUT)

    def proc_devices(self) -> list[tuple[int, str]]:
        """The char majors this kernel lists in /proc/devices."""
        return self.chrdevs.proc_lines()

    def shutdown(self) -> None:
        """Stop every running core, removing its devices, as a poweroff does."""
        for rproc in self.rprocs:
            rproc.poweroff()


def probe_order(board: Board) -> list[RemoteProc]:
    """The board's remote cores in the order its kernel probes them.

    Device-tree order (`Soc.boot_order`), then cores outside TI's rproc-id table (PRUs); with
    the board's `probe_order = "shuffle:SEED"` a permutation fixed by SEED instead.
    """
    soc = board.soc
    specs = [rp for rid in soc.boot_order for rp in soc.rprocs if rp.rproc_id == rid]
    specs += [rp for rp in soc.rprocs if rp not in specs]
    specs += list(soc.prus)
    if board.probe_order == "shuffle":
        seed = board.probe_seed
        if seed is None:
            seed = random.randrange(1 << 32)
            log.warning("probe order shuffled with seed %d (--probe-order shuffle:%d repeats "
                        "it)", seed, seed)
        random.Random(seed).shuffle(specs)
    return specs
