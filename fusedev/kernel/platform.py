"""drivers/base/platform.c: platform devices and the drivers that bind them.

A platform device has `modalias` (drivers/of/device.c `of_device_modalias` for a device-tree
device, else `platform:<name>`), `driver_override`, and a uevent whose MODALIAS is the same
(`platform_uevent`). A device-tree device is bound by the driver whose of_match table holds
one of its `compatible` strings; any other by the driver of its name (`platform_match`).
"""
from __future__ import annotations

from fusedev.kernel.driver_core import Bus, Device, Driver, driver_set_override
from fusedev.kernel.of_device import OfNode


def platform_device(name: str, bus: Bus, *, pdev_name: str = "", parent: Device | None = None,
                    sysfs_parent: str = "", of_node: OfNode | None = None,
                    data: object = None) -> Device:
    """A platform device named `name` (`pdev_name` is its `pdev->name` without the id)."""
    modalias = of_node.modalias() if of_node else f"platform:{pdev_name or name}"
    dev = Device(name, parent=parent, bus=bus, sysfs_parent=sysfs_parent, modalias=modalias,
                 of_node=of_node, data=data)

    def store_override(data: bytes) -> None:
        dev.driver_override = driver_set_override(data)

    dev.attribute("driver_override", lambda: f"{dev.driver_override or '(null)'}\n",
                  store_override, 0o644)
    dev.attribute("modalias", lambda: f"{modalias}\n")
    return dev


class OfDriver(Driver):
    """A platform driver with an of_match table (k3-m4-rproc, omap-mailbox, …)."""

    def __init__(self, name: str, compatible: set[str]) -> None:
        super().__init__(name)
        self.compatible = compatible

    def match(self, dev: Device) -> bool:
        return dev.of_node is not None and bool(self.compatible & set(dev.of_node.compatible))


class NameDriver(Driver):
    """A platform driver matched by device name (`rproc-virtio`)."""

    def match(self, dev: Device) -> bool:
        return dev.of_node is None and dev.modalias == f"platform:{self.name}"
