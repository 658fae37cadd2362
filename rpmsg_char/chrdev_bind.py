"""Binding the rpmsg_chrdev driver to a firmware's own channel, from sysfs.

rpmsg_char's driver matches only the channel name `rpmsg_chrdev`. A firmware that announces
its own name (e.g. `ti.ipc4.ping-pong`) gets no driver, so TI's walk (which needs the channel's
`rpmsg/` directory) cannot use it. The kernel's way round it, as TI documents it for K3
boards: write the driver's name to the channel's `driver_override` (drivers/rpmsg/rpmsg_core.c,
`driver_override_store`; `rpmsg_dev_match` then matches that driver only), then the channel's
name to the driver's `bind` (drivers/base/bus.c, `bind_store`). Both writes need root.
"""

import errno
import logging
import os

from .errors import RpmsgCharError

log = logging.getLogger(__name__)

CHRDEV_DRIVER = "rpmsg_chrdev"
"""The rpmsg_char driver's name on the rpmsg bus (`rpmsg_chrdev_driver.drv.name`)."""


def bind_chrdev(root: str, channel_dir: str) -> bool:
    """Bind rpmsg_chrdev to the channel at `channel_dir`; False when it already was.

    EBUSY when another driver holds the channel (unbind it first); the errno of a failed sysfs
    write otherwise (EACCES/EPERM without root, ENODEV when the driver does not match).
    """
    channel = os.path.basename(channel_dir)
    bound = _bound_driver(channel_dir)
    if bound == CHRDEV_DRIVER:
        log.debug("%s is already bound to %s", channel, CHRDEV_DRIVER)
        return False
    driver_dir = os.path.join(root, "sys", "bus", "rpmsg", "drivers", bound or CHRDEV_DRIVER)
    if bound is not None:
        raise RpmsgCharError(errno.EBUSY, f"channel {channel} is bound to driver {bound}; unbind it "
                             f"first (echo {channel} > {driver_dir}/unbind)", step="bind rpmsg_chrdev",
                             path=channel_dir)
    override = os.path.join(channel_dir, "driver_override")
    _write(override, CHRDEV_DRIVER + "\n")
    try:
        _write(os.path.join(driver_dir, "bind"), channel + "\n")
    except RpmsgCharError:
        _clear_override(override)
        raise
    log.info("bound %s to %s", channel, CHRDEV_DRIVER)
    return True


def _bound_driver(channel_dir: str) -> str | None:
    """The driver holding the device: the last part of its `driver` link, or None."""
    try:
        return os.path.basename(os.readlink(os.path.join(channel_dir, "driver")))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RpmsgCharError.from_os_error(exc, f"cannot read {channel_dir}/driver", step="bind rpmsg_chrdev",
                                           path=channel_dir) from exc


def _write(path: str, text: str) -> None:
    """One write of the whole value, as `echo VALUE > path` does."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        raise RpmsgCharError.from_os_error(exc, f"cannot open {path}", step="bind rpmsg_chrdev",
                                           path=path) from exc
    try:
        os.write(fd, text.encode())
    except OSError as exc:
        raise RpmsgCharError.from_os_error(exc, f"writing {text.strip()!r} to {path}", step="bind rpmsg_chrdev",
                                           path=path) from exc
    finally:
        os.close(fd)


def _clear_override(path: str) -> None:
    """Undo our driver_override after a failed bind (an empty write clears it)."""
    try:
        _write(path, "\n")
    except RpmsgCharError as exc:
        log.warning("%s", exc)
