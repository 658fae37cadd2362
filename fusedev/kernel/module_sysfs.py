"""/sys/module/<name> for the loadable modules the board has loaded, and drivers' `module` links.

kernel/module/sysfs.c makes each module's directory: `coresize`, `initsize`, `initstate`,
`refcnt`, `taint`, `uevent` (write-only), `holders/` (links to the modules using it) and
`drivers/` (`<bus>:<driver>` links, made with the driver's `module` link by drivers/base/module.c
`module_add_driver`). Built-in drivers without a `mod_name` get neither. Which drivers TI's
SDK builds as modules, and the sizes, follow a real AM62x SK (`lsmod`, `ls -l /sys/module`):
ti_k3_m4_remoteproc, ti_k3_r5_remoteproc, pru_rproc and pruss (which pru_rproc holds), rpmsg_char
and rpmsg_ctrl (which holds rpmsg_char); virtio_rpmsg_bus, rpmsg_ns, remoteproc and the mailbox driver are built in.
"""
from __future__ import annotations

from dataclasses import dataclass

from fusedev.kernel.kobject_uevent import uevent_store
from fusedev.fuse.vfs import Directory


@dataclass(frozen=True)
class ModuleInfo:
    """A loadable module as /sys/module shows it."""

    name: str
    coresize: int
    uses: tuple[str, ...] = ()  # modules whose symbols it needs: it is their holder


# Driver name → the module that registers it (TI SDK kernels).
DRIVER_MODULES: dict[str, ModuleInfo] = {
    "k3-m4-rproc": ModuleInfo("ti_k3_m4_remoteproc", 16384),
    "k3_r5_rproc": ModuleInfo("ti_k3_r5_remoteproc", 24576),
    "k3-dsp-rproc": ModuleInfo("ti_k3_dsp_remoteproc", 20480),
    "pru-rproc": ModuleInfo("pru_rproc", 20480, uses=("pruss",)),
    "pruss": ModuleInfo("pruss", 12288),
    "rpmsg_chrdev": ModuleInfo("rpmsg_char", 12288),
    "rpmsg_ctrl": ModuleInfo("rpmsg_ctrl", 12288, uses=("rpmsg_char",)),
}
MODULES = {info.name: info for info in DRIVER_MODULES.values()}


class ModuleSysfs:
    """The /sys/module directory of the emulated kernel."""

    def __init__(self, sys: Directory) -> None:
        self.dir = sys.makedirs("module")

    def add_driver(self, driver_dir: Directory, bus_name: str, info: ModuleInfo) -> None:
        """`module_add_driver`: the driver's `module` link and the module's `drivers/` link."""
        module = self._module(info)
        driver_dir.symlink("module", _relative_up(driver_dir, f"module/{info.name}"))
        drivers = module.children["drivers"]
        assert isinstance(drivers, Directory)
        drivers.symlink(f"{bus_name}:{driver_dir.name}",
                        f"../../../bus/{bus_name}/drivers/{driver_dir.name}")

    def _module(self, info: ModuleInfo) -> Directory:
        existing = self.dir.children.get(info.name)
        if isinstance(existing, Directory):
            return existing
        module = self.dir.mkdir(info.name)
        module.attribute("coresize", lambda: f"{info.coresize}\n")
        module.mkdir("drivers")
        holders = module.mkdir("holders")
        for used in info.uses:  # loaded first, as modprobe loads dependencies
            used_holders = self._module(MODULES[used]).children["holders"]
            assert isinstance(used_holders, Directory)
            used_holders.symlink(info.name, f"../../{info.name}")
        module.attribute("initsize", lambda: "0\n")
        module.attribute("initstate", lambda: "live\n")
        module.attribute("refcnt", lambda: f"{len(holders.children)}\n")
        module.attribute("taint", lambda: "\n")
        module.attribute("uevent", store=uevent_store(f"/module/{info.name}"), mode=0o200)
        return module


def _relative_up(link_dir: Directory, target: str) -> str:
    """A link from a directory below /sys to `target` relative to /sys."""
    depth = link_dir.path().split("/sys/", 1)[1].count("/") + 1
    return "../" * depth + target
