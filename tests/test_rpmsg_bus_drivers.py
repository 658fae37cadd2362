"""The rpmsg bus drivers from sysfs: bind, unbind, and the driver_override trick that gives
any channel a /dev/rpmsgN (reference §5.1)."""
from __future__ import annotations

import errno
import os

import pytest

from sysfs_io import write

PING_PONG = "sys/bus/rpmsg/devices/virtio0.ti.ipc4.ping-pong.-1.13"
CHRDEV_DRIVER = "sys/bus/rpmsg/drivers/rpmsg_chrdev"


def test_drivers_are_listed_with_their_devices(emu) -> None:
    drivers = emu.root / "sys/bus/rpmsg/drivers"
    assert sorted(os.listdir(drivers)) == ["rpmsg_chrdev", "rpmsg_ctrl", "rpmsg_ns"]
    bound = os.listdir(drivers / "rpmsg_ctrl")
    assert "virtio0.rpmsg_ctrl.0.0" in bound and "virtio1.rpmsg_ctrl.0.0" in bound
    assert os.path.realpath(drivers / "rpmsg_ctrl/virtio0.rpmsg_ctrl.0.0") == \
        os.path.realpath(emu.root / "sys/bus/rpmsg/devices/virtio0.rpmsg_ctrl.0.0")


def test_driver_override_and_bind_give_any_channel_an_eptdev(emu) -> None:
    channel = emu.root / PING_PONG
    assert not (channel / "driver").exists()  # no driver knows ti.ipc4.ping-pong
    with pytest.raises(OSError) as err:
        write(emu.root / CHRDEV_DRIVER / "bind", "virtio0.ti.ipc4.ping-pong.-1.13")
    assert err.value.errno == errno.ENODEV  # the driver does not match it

    write(channel / "driver_override", "rpmsg_chrdev\n")
    assert (channel / "driver_override").read_text() == "rpmsg_chrdev\n"
    write(emu.root / CHRDEV_DRIVER / "bind", "virtio0.ti.ipc4.ping-pong.-1.13")
    assert os.readlink(channel / "driver").endswith("bus/rpmsg/drivers/rpmsg_chrdev")
    assert int((channel / "src").read_text(), 16) >= 1024  # now it has an endpoint
    node = os.listdir(channel / "rpmsg")[0]
    fd = os.open(emu.root / "dev" / node, os.O_RDWR)
    os.write(fd, b"ping")
    assert os.read(fd, 496) == b"ping"  # the echo firmware answers on 13 too
    os.close(fd)

    with pytest.raises(OSError) as err:
        write(emu.root / CHRDEV_DRIVER / "bind", "virtio0.ti.ipc4.ping-pong.-1.13")
    assert err.value.errno == errno.EBUSY
    write(emu.root / CHRDEV_DRIVER / "unbind", "virtio0.ti.ipc4.ping-pong.-1.13")
    assert not (channel / "driver").exists()
    assert node not in os.listdir(emu.root / "dev")
    write(channel / "driver_override", "\n")  # an empty write clears it
    assert (channel / "driver_override").read_text() == "(null)\n"


def test_unbind_of_a_device_the_driver_does_not_hold_is_enodev(emu) -> None:
    with pytest.raises(OSError) as err:
        write(emu.root / CHRDEV_DRIVER / "unbind", "virtio0.rpmsg_ctrl.0.0")
    assert err.value.errno == errno.ENODEV
