"""The driver core: devices, buses, classes and drivers, rendered into /sys and /dev.

Follows drivers/base: `device_add` creates the device's sysfs directory under its parent
(a class device under a class-less parent goes into a glue directory named after the class),
the `subsystem`/`device`/`driver` links, the bus and class links, `dev` and `uevent`, the
/dev node and /sys/dev/char link, and then probes the bus drivers; `device_del` undoes it.
All links are relative, as sysfs makes them. Everything happens before the caller returns,
so a program that reads sysfs right after an ioctl sees the result.
"""
from __future__ import annotations

import errno
import logging
from dataclasses import dataclass, field
from typing import Callable

from fusedev.fuse.fileops import FileOperations, FsError
from fusedev.kernel.kobject_uevent import uevent_store
from fusedev.kernel.of_device import OfNode, devicetree_dir
from fusedev.kernel.power_sysfs import add_power_dir
from fusedev.kernel.sysfs_input import PAGE_SIZE, first_line, sysfs_streq
from fusedev.fuse.vfs import Directory, Node, ShowFn, StoreFn, fs_bytes

log = logging.getLogger(__name__)


def kobject_name(name: str) -> str:
    """A device name as `dev_set_name` stores it: a `/` would make a path, so it becomes `!`.

    lib/kobject.c `kobject_set_name_vargs` (strreplace(s, '/', '!')).
    """
    return name.replace("/", "!")


def driver_set_override(data: bytes, *, length_limit: bool = True) -> str | None:
    """The override a `driver_override` store sets (None clears), from what was written.

    drivers/base/driver.c `driver_set_override` (v5.19+): a write of PAGE_SIZE - 1 bytes or
    more is EINVAL; the value ends at the first NUL (helpers write `strlen(s) + 1` bytes) or
    newline; empty, or a newline first, clears. Before v5.19 (`length_limit` False) the
    rpmsg bus's own store cut at the newline the same way, without the length check.
    Bytes that are not UTF-8 are kept (as surrogate escapes) and match no driver.
    """
    if length_limit and len(data) >= PAGE_SIZE - 1:
        raise FsError(errno.EINVAL)
    value = first_line(data)
    return value.decode("utf-8", "surrogateescape") or None


@dataclass
class DeviceNodePolicy:
    """Owner, group and mode of the /dev nodes (devtmpfs + udev rules on a board)."""

    uid: int = 0
    gid: int = 0
    mode: int = 0o600


@dataclass(eq=False)
class Device:
    """A `struct device`: name, parent, bus or class, attributes, optional char device."""

    name: str
    parent: Device | None = None
    bus: Bus | None = None
    cls: DeviceClass | None = None
    devt: tuple[int, int] | None = None
    fops: FileOperations | None = None
    sysfs_parent: str = ""  # path under /sys/devices for a device without a parent
    devnode: str = ""  # the node's path under /dev when not the name (a class's devnode())
    devtype: str = ""
    modalias: str = ""
    driver: Driver | None = None
    driver_override: str | None = None
    of_node: OfNode | None = None  # the device-tree node of a platform device
    data: object = None  # the model object that owns this device (dev_get_drvdata)
    attrs: list[tuple[str, ShowFn | None, StoreFn | None, int | None]] = field(default_factory=list)
    dir: Directory | None = None

    def attribute(self, name: str, show: ShowFn | None = None, store: StoreFn | None = None,
                  mode: int | None = None) -> None:
        self.attrs.append((name, show, store, mode))

    @property
    def registered(self) -> bool:
        return self.dir is not None


class Driver:
    """A bus driver: matches devices and probes/removes them."""

    # `struct device_driver.suppress_bind_attrs`: no bind/unbind files (pru-rproc sets it).
    suppress_bind_attrs = False

    def __init__(self, name: str) -> None:
        self.name = name
        self.bus: Bus | None = None
        self.dir: Directory | None = None

    def match(self, dev: Device) -> bool:
        return False

    def probe(self, dev: Device) -> None:
        """Bind to `dev`; raise to refuse."""

    def remove(self, dev: Device) -> None:
        """Unbind from `dev`."""


class Bus:
    """A bus type: /sys/bus/NAME/{devices,drivers}."""

    def __init__(self, core: DriverCore, name: str) -> None:
        self.core = core
        self.name = name
        self.dir = core.sys.makedirs(f"bus/{name}")
        self.devices_dir = self.dir.mkdir("devices")
        self.drivers_dir = self.dir.mkdir("drivers")
        self.devices: dict[str, Device] = {}
        self.drivers: dict[str, Driver] = {}
        self.autoprobe = True
        # drivers/base/bus.c `bus_add_probe_files` and the bus's own `uevent`.
        self.dir.attribute("drivers_autoprobe", lambda: f"{int(self.autoprobe)}\n",
                           self._autoprobe_store, 0o644)
        self.dir.attribute("drivers_probe", store=self._drivers_probe_store, mode=0o200)
        self.dir.attribute("uevent", store=uevent_store(f"/bus/{name}"), mode=0o200)

    def _autoprobe_store(self, data: bytes) -> None:
        """`drivers_autoprobe_store`: a first byte `0` turns probing of new devices off."""
        self.autoprobe = data[:1] != b"0"

    def _drivers_probe_store(self, data: bytes) -> None:
        """`drivers_probe_store`: find the device with `sysfs_streq` (ENODEV if none) and
        attach a driver when it has none; a device no driver matches stays as it is."""
        dev = next((d for d in self.devices.values() if sysfs_streq(data, fs_bytes(d.name))),
                   None)
        if dev is None:
            raise FsError(errno.ENODEV)
        if dev.driver is None:
            self.probe(dev)

    def register_driver(self, driver: Driver) -> None:
        driver.bus = self
        driver.dir = self.drivers_dir.mkdir(driver.name)
        if not driver.suppress_bind_attrs:  # bus.c add_bind_files
            driver.dir.attribute("bind", store=lambda data: self._bind_store(driver, data))
            driver.dir.attribute("unbind", store=lambda data: self._unbind_store(driver, data))
        driver.dir.attribute("uevent", store=uevent_store(f"/bus/{self.name}/drivers/"
                                                         f"{driver.name}"), mode=0o200)
        self.drivers[driver.name] = driver
        for dev in list(self.devices.values()):  # driver_attach
            if dev.driver is None and self.matches(driver, dev):
                self._try_probe(driver, dev)

    def matches(self, driver: Driver, dev: Device) -> bool:
        if dev.driver_override:
            return dev.driver_override == driver.name
        return driver.match(dev)

    def probe(self, dev: Device) -> None:
        """bus_probe_device: the first matching driver whose probe succeeds binds."""
        for driver in self.drivers.values():
            if self.matches(driver, dev) and self._try_probe(driver, dev):
                return

    def _try_probe(self, driver: Driver, dev: Device) -> bool:
        """A probe that fails is logged and leaves the device unbound, for the next driver
        to try; it never fails the device_add or driver registration that triggered it
        (drivers/base/dd.c `call_driver_probe`, `__device_attach_driver`, `__driver_attach`)."""
        try:
            self.core.bind(dev, driver)
        except FsError as exc:
            log.warning("%s %s: probe of %r failed with error -%d", driver.name, dev.name,
                        dev.name, exc.errno)
            return False
        return True

    def find_device_by_name(self, data: bytes) -> Device | None:
        """bus_find_device_by_name: the first device whose name `sysfs_streq` the buffer
        (drivers/base/core.c `device_match_name`). Any bytes may come; those that name no
        device (not UTF-8, say) find nothing."""
        for dev in self.devices.values():
            if sysfs_streq(data, fs_bytes(dev.name)):
                return dev
        return None

    def _bind_store(self, driver: Driver, data: bytes) -> None:
        """drivers/base/bus.c `bind_store`: ENODEV unless found and matching; EBUSY when
        bound (`__driver_probe_device`); a failing probe gives its own errno."""
        dev = self.find_device_by_name(data)
        if dev is None or not self.matches(driver, dev):
            raise FsError(errno.ENODEV)
        if dev.driver is not None:
            raise FsError(errno.EBUSY)
        self.core.bind(dev, driver)

    def _unbind_store(self, driver: Driver, data: bytes) -> None:
        """drivers/base/bus.c `unbind_store`: ENODEV unless found and bound to this driver."""
        dev = self.find_device_by_name(data)
        if dev is None or dev.driver is not driver:
            raise FsError(errno.ENODEV)
        self.core.unbind(dev)


class DeviceClass:
    """A device class: /sys/class/NAME."""

    def __init__(self, core: DriverCore, name: str) -> None:
        self.name = name
        self.dir = core.sys.makedirs(f"class/{name}")


class DriverCore:
    """Renders the device model into a vfs tree holding `sys/` and `dev/`."""

    def __init__(self, root: Directory, nodes: DeviceNodePolicy | None = None) -> None:
        self.root = root
        self.sys = root.makedirs("sys")
        self.dev = root.makedirs("dev")
        self.devices_dir = self.sys.makedirs("devices")
        self.dev_char = self.sys.makedirs("dev/char")
        self.nodes = nodes or DeviceNodePolicy()
        self.buses: dict[str, Bus] = {}
        self.classes: dict[str, DeviceClass] = {}
        self.on_change: list[Callable[[], None]] = []

    def bus(self, name: str) -> Bus:
        if name not in self.buses:
            self.buses[name] = Bus(self, name)
        return self.buses[name]

    def device_class(self, name: str) -> DeviceClass:
        if name not in self.classes:
            self.classes[name] = DeviceClass(self, name)
        return self.classes[name]

    # ---- add / del -----------------------------------------------------------------------

    def _parent_dir(self, dev: Device) -> Directory:
        if dev.parent is None:
            if dev.cls is not None and not dev.sysfs_parent:
                return self.devices_dir.makedirs(f"virtual/{dev.cls.name}")
            return self.devices_dir.makedirs(dev.sysfs_parent)
        assert dev.parent.dir is not None, f"parent of {dev.name} is not registered"
        parent_dir = dev.parent.dir
        if dev.cls is not None and dev.parent.cls is None:
            glue = parent_dir.children.get(dev.cls.name)
            if not isinstance(glue, Directory):
                glue = parent_dir.mkdir(dev.cls.name)
            return glue
        return parent_dir

    def device_add(self, dev: Device) -> None:
        directory = self._parent_dir(dev).mkdir(dev.name)
        dev.dir = directory
        for name, show, store, mode in dev.attrs:
            directory.attribute(name, show, store, mode)
        directory.attribute("uevent", show=lambda: self._uevent(dev),
                            store=uevent_store(directory.path().removeprefix("/sys")),
                            mode=0o644)
        add_power_dir(directory)
        if dev.of_node is not None:  # device_add_class_symlinks
            directory.symlink("of_node",
                              _relative(directory, devicetree_dir(self.sys, dev.of_node)))
            # device_add_attrs (fw_devlink on): its suppliers are all there, so 0; removed
            # for good once a driver binds (device_links_driver_bound).
            directory.attribute("waiting_for_supplier", lambda: "0\n")
        if dev.bus is not None:
            directory.symlink("subsystem", _relative(directory, dev.bus.dir))
            dev.bus.devices_dir.symlink(dev.name, _relative(dev.bus.devices_dir, directory))
            dev.bus.devices[dev.name] = dev
        if dev.cls is not None:
            directory.symlink("subsystem", _relative(directory, dev.cls.dir))
            dev.cls.dir.symlink(dev.name, _relative(dev.cls.dir, directory))
            if dev.parent is not None and dev.parent.dir is not None:
                directory.symlink("device", _relative(directory, dev.parent.dir))
        if dev.devt is not None and dev.fops is not None:
            major, minor = dev.devt
            directory.attribute("dev", show=lambda: f"{major}:{minor}\n")
            self.dev_char.symlink(f"{major}:{minor}", _relative(self.dev_char, directory))
            node_dir, node_name = self._devnode(dev)
            node_dir.device(node_name, dev.fops, mode=self.nodes.mode, rdev=dev.devt,
                            uid=self.nodes.uid, gid=self.nodes.gid)
        log.debug("device_add %s", directory.path())
        if dev.bus is not None and dev.bus.autoprobe:
            dev.bus.probe(dev)

    def _devnode(self, dev: Device) -> tuple[Directory, str]:
        """Directory and name of the /dev node (devtmpfs `device_get_devnode`)."""
        subdir, _, name = (dev.devnode or dev.name).rpartition("/")
        return (self.dev.makedirs(subdir) if subdir else self.dev), name

    def device_del(self, dev: Device) -> None:
        if dev.dir is None:
            return
        if dev.driver is not None:
            self.unbind(dev)
        directory, dev.dir = dev.dir, None
        if dev.devt is not None and dev.fops is not None:
            node_dir, node_name = self._devnode(dev)
            node_dir.discard(node_name)
            self.dev_char.discard("%d:%d" % dev.devt)
        if dev.cls is not None:
            dev.cls.dir.discard(dev.name)
        if dev.bus is not None:
            dev.bus.devices_dir.discard(dev.name)
            dev.bus.devices.pop(dev.name, None)
        parent = directory.parent
        if parent is not None:
            parent.remove(directory.name)
            # An emptied class glue directory goes with its last device.
            if (dev.cls is not None and parent.name == dev.cls.name and not parent.children
                    and parent.parent is not None and dev.parent is not None
                    and dev.parent.cls is None):
                parent.parent.remove(parent.name)
        log.debug("device_del %s", dev.name)

    # ---- drivers -------------------------------------------------------------------------

    def bind(self, dev: Device, driver: Driver) -> None:
        driver.probe(dev)
        dev.driver = driver
        if dev.dir is not None:
            dev.dir.discard("waiting_for_supplier")
        if dev.dir is not None and driver.dir is not None:
            dev.dir.symlink("driver", _relative(dev.dir, driver.dir))
            driver.dir.symlink(dev.name, _relative(driver.dir, dev.dir))

    def unbind(self, dev: Device) -> None:
        driver, dev.driver = dev.driver, None
        if driver is None:
            return
        if driver.dir is not None:
            driver.dir.discard(dev.name)
        if dev.dir is not None:
            dev.dir.discard("driver")
        driver.remove(dev)

    def _uevent(self, dev: Device) -> str:
        lines = []
        if dev.devt is not None:
            lines += [f"MAJOR={dev.devt[0]}", f"MINOR={dev.devt[1]}",
                      f"DEVNAME={dev.devnode or dev.name}"]
        if dev.devtype:
            lines.append(f"DEVTYPE={dev.devtype}")
        if dev.driver is not None:
            lines.append(f"DRIVER={dev.driver.name}")
        if dev.of_node is not None:  # dev_uevent → of_device_uevent, before the bus's keys
            lines += dev.of_node.uevent_lines()
        if dev.modalias:
            lines.append(f"MODALIAS={dev.modalias}")
        return "".join(line + "\n" for line in lines)


def _relative(link_dir: Node, target: Node) -> str:
    """The relative text of a symlink in `link_dir` pointing at `target`, made as kernfs does.

    kernfs climbs from the link's directory to an ancestor of the target's *parent* and then
    names the way down, so a link to the parent directory reads `../../<name>`, not `..`.
    """
    link_parts = link_dir.path().split("/")[1:]
    target_parts = target.path().split("/")[1:]
    common = 0
    for a, b in zip(link_parts, target_parts[:-1]):
        if a != b:
            break
        common += 1
    return "../" * (len(link_parts) - common) + "/".join(target_parts[common:])
