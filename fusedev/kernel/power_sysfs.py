"""The `power/` directory every device has (drivers/base/power/sysfs.c `dpm_sysfs_add`).

Without CONFIG_PM_ADVANCED_DEBUG the group is empty except for the runtime-PM attributes,
merged for every device with runtime-PM callbacks (all the emulated ones): `control`,
`runtime_status`, `runtime_active_time`, `runtime_suspended_time`, `autosuspend_delay_ms`.
No emulated device enables runtime PM, so the status is `unsupported` (`disable_depth` > 0)
and `autosuspend_delay_ms` answers EIO both ways (`use_autosuspend` is off). No device can
wake the system, so the wakeup group is absent.
"""
from __future__ import annotations

import errno

from fusedev.fuse.fileops import FsError
from fusedev.kernel.sysfs_input import sysfs_streq
from fusedev.fuse.vfs import Directory


class RuntimePm:
    """A device's runtime-PM state as its sysfs attributes show it."""

    def __init__(self) -> None:
        self.runtime_auto = True

    def show_control(self) -> str:
        return "auto\n" if self.runtime_auto else "on\n"

    def store_control(self, data: bytes) -> None:
        """`control_store`: `sysfs_streq` with `auto` or `on` (the C string, one trailing
        newline ignored), else EINVAL."""
        if sysfs_streq(data, "auto"):
            self.runtime_auto = True
        elif sysfs_streq(data, "on"):
            self.runtime_auto = False
        else:
            raise FsError(errno.EINVAL)


def _eio(*_args: object) -> str:
    raise FsError(errno.EIO)


def add_power_dir(directory: Directory) -> Directory:
    """Create `power/` with the runtime-PM attributes in `directory`."""
    pm = RuntimePm()
    power = directory.mkdir("power")
    power.attribute("control", pm.show_control, pm.store_control, 0o644)
    power.attribute("runtime_status", lambda: "unsupported\n")
    power.attribute("runtime_active_time", lambda: "0\n")
    power.attribute("runtime_suspended_time", lambda: "0\n")
    power.attribute("autosuspend_delay_ms", _eio, _eio, 0o644)
    return power
