"""remoteproc_virtio: the virtio device a running remote processor offers, and its parent.

Since 6.1 the parent is a platform device `rproc-virtio.N.auto` (N from the global automatic
platform id pool, where the board's other devices hold the first ids: `.2.auto` is the first
on an AM62x SK), bound by the built-in `rproc-virtio` platform driver; before, it was
`remoteprocN#vdev0buffer`. Both are re-created, with fresh numbers, every time the processor
starts (remoteproc_core.c `rproc_rvdev_add_device`, remoteproc_virtio.c `rproc_virtio_probe`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from fusedev.kernel.driver_core import Device
from fusedev.kernel.platform import platform_device
from fusedev.kernel.virtio_rpmsg_bus import VirtioRpmsg

if TYPE_CHECKING:
    from remote_fw import HostTransport

    from fusedev.kernel.kernel import Kernel


class RprocVdev:
    """The vdev of one remoteproc boot: parent device + virtio rpmsg device."""

    def __init__(self, kernel: Kernel, rproc_dev: Device, rproc_index: int, core_name: str,
                 host: HostTransport) -> None:
        self.kernel = kernel
        self.platform_id: int | None = None
        if kernel.profile.virtio_parent == "rproc-virtio":
            self.platform_id = kernel.platform_auto_ida.alloc()
            self.parent = platform_device(f"rproc-virtio.{self.platform_id}.auto",
                                          kernel.platform_bus, pdev_name="rproc-virtio",
                                          parent=rproc_dev)
        else:
            self.parent = Device(f"remoteproc{rproc_index}#vdev0buffer", parent=rproc_dev)
        self.vrp = VirtioRpmsg(kernel, core_name, host, self.parent)

    def add(self) -> None:
        self.kernel.core.device_add(self.parent)
        self.vrp.probe()
        self.kernel.nursery.start_soon(self.vrp.run, name=f"{self.vrp.dev.name}:mailbox")

    def remove(self) -> None:
        self.vrp.remove()
        self.kernel.core.device_del(self.parent)
        if self.platform_id is not None:
            self.kernel.platform_auto_ida.free(self.platform_id)
