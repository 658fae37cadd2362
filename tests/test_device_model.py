"""The device model as udev-style walks see it (issue 11 item 6).

`udevadm info -a`, systemd's sd-device and similar tools climb from a device to /sys/devices,
reading `uevent` at each level, follow `driver`, `subsystem`, `of_node` and `module` links,
and match on MODALIAS and the OF_* keys. Every value here is checked against what the kernel
writes: drivers/base/core.c `dev_uevent`, drivers/of/device.c `of_device_uevent`,
drivers/of/module.c `of_modalias`, drivers/base/platform.c, drivers/base/bus.c,
drivers/base/power/sysfs.c, drivers/virtio/virtio.c, kernel/module/sysfs.c, fs/char_dev.c.
"""
from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest


def write_attr(path: Path, data: bytes) -> None:
    """One write() of exactly `data`, as a C program or `echo` makes it."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)

M4F = "devices/platform/bus@f0000/bus@f0000:bus@4000000/5000000.m4fss"
R5FSS = "devices/platform/bus@f0000/bus@f0000:bus@b00000/bus@f0000:bus@b00000:r5fss@78000000"
GLUE = {"remoteproc", "rpmsg"}  # class glue directories under a device


def devices_of(sys_: Path) -> list[Path]:
    """Every device a walk starts from: bus and class members, resolved."""
    found = []
    for top in ("bus", "class"):
        for group in sorted((sys_ / top).iterdir()):
            members = group / "devices" if top == "bus" else group
            if members.is_dir():
                found += [Path(os.path.realpath(m)) for m in sorted(members.iterdir())]
    return found


def test_every_device_and_every_parent_up_to_sys_devices_has_uevent_and_power(emu):
    sys_ = emu.root / "sys"
    devices = devices_of(sys_)
    assert len(devices) > 20
    top = sys_ / "devices"
    for device in devices:
        node = device
        while node != top:
            # glue directories (class dirs under a parent, /sys/devices/virtual/<class>)
            # are bare kobjects, without uevent, on a board too
            if node.name not in GLUE and top / "virtual" not in (node, node.parent):
                assert (node / "uevent").is_file(), node
                assert (node / "power").is_dir(), node
            node = node.parent
    for path in ("devices/platform", "devices/platform/bus@f0000",
                 "devices/platform/bus@f0000/bus@f0000:bus@4000000"):
        assert (sys_ / path / "uevent").is_file()
    assert (sys_ / "devices/platform/uevent").read_text() == ""  # no bus, no class: no keys


def test_power_directory_holds_the_runtime_pm_attributes(emu):
    power = emu.root / "sys/class/rpmsg/rpmsg_ctrl0/power"
    assert sorted(os.listdir(power)) == ["autosuspend_delay_ms", "control",
                                         "runtime_active_time", "runtime_status",
                                         "runtime_suspended_time"]
    assert (power / "control").read_text() == "auto\n"
    assert (power / "runtime_status").read_text() == "unsupported\n"
    assert (power / "runtime_active_time").read_text() == "0\n"
    with pytest.raises(OSError) as info:
        (power / "autosuspend_delay_ms").read_text()  # use_autosuspend is off
    assert info.value.errno == errno.EIO
    write_attr(power / "control", b"on\n")
    assert (power / "control").read_text() == "on\n"
    write_attr(power / "control", b"auto\0")  # control_store's sysfs_streq: strlen+1 works
    assert (power / "control").read_text() == "auto\n"
    with pytest.raises(OSError) as info:
        write_attr(power / "control", b"auto\n\n")
    assert info.value.errno == errno.EINVAL


def test_platform_device_has_modalias_of_node_driver_override_and_of_keys(emu):
    m4f = emu.root / "sys" / M4F
    assert (m4f / "modalias").read_text() == "of:Nm4fssT(null)Cti,am64-m4fss\n"
    assert (m4f / "driver_override").read_text() == "(null)\n"
    assert (m4f / "uevent").read_text() == (
        "DRIVER=k3-m4-rproc\n"
        "OF_NAME=m4fss\n"
        "OF_FULLNAME=/bus@f0000/bus@4000000/m4fss@5000000\n"
        "OF_COMPATIBLE_0=ti,am64-m4fss\n"
        "OF_COMPATIBLE_N=1\n"
        "MODALIAS=of:Nm4fssT(null)Cti,am64-m4fss\n")
    node = os.path.realpath(m4f / "of_node")
    assert node == str(emu.root / "sys/firmware/devicetree/base/bus@f0000/bus@4000000"
                       "/m4fss@5000000")
    assert Path(node, "compatible").read_bytes() == b"ti,am64-m4fss\0"
    bus = emu.root / "sys/devices/platform/bus@f0000"
    assert (bus / "uevent").read_text().startswith("DRIVER=simple-pm-bus\nOF_NAME=bus\n")


def test_r5f_cluster_is_bound_and_its_cores_are_not(emu):
    cluster = emu.root / "sys" / R5FSS
    assert os.readlink(cluster / "driver").endswith("bus/platform/drivers/k3_r5_rproc")
    core = cluster / "78000000.r5f"
    assert not os.path.lexists(core / "driver")
    assert (core / "modalias").read_text() == "of:Nr5fT(null)Cti,am62-r5f\n"
    # fw_devlink: the file exists until a driver binds (device_links_driver_bound)
    assert (core / "waiting_for_supplier").read_text() == "0\n"
    assert not os.path.exists(cluster / "waiting_for_supplier")


def test_rproc_virtio_devices_are_bound_by_rproc_virtio(emu):
    vdev = emu.root / "sys" / M4F / "remoteproc/remoteproc0/rproc-virtio.2.auto"
    assert os.readlink(vdev / "driver") == "../../../../../../../../bus/platform/drivers/rproc-virtio"
    assert (vdev / "modalias").read_text() == "platform:rproc-virtio\n"
    assert (vdev / "uevent").read_text() == "DRIVER=rproc-virtio\nMODALIAS=platform:rproc-virtio\n"
    assert not os.path.lexists(vdev / "of_node")


def test_virtio_status_is_acknowledge_driver_driver_ok(emu):
    virtio = emu.root / "sys/bus/virtio/devices/virtio0"
    assert (virtio / "status").read_text() == "0x00000007\n"


def test_pru_rproc_has_no_bind_files(emu):
    pru = emu.root / "sys/bus/platform/drivers/pru-rproc"
    assert sorted(os.listdir(pru)) == ["30074000.pru", "30078000.pru", "module", "uevent"]
    assert os.path.realpath(pru / "module") == str(emu.root / "sys/module/pru_rproc")


def test_mailbox_device_and_driver(emu):
    mailbox = emu.root / "sys/bus/platform/drivers/omap-mailbox/29000000.mailbox"
    assert os.path.realpath(mailbox) == str(emu.root / "sys/devices/platform/bus@f0000"
                                                       "/29000000.mailbox")
    assert (mailbox / "modalias").read_text() == "of:NmailboxT(null)Cti,am64-mailbox\n"


def test_modules_and_driver_module_links(emu):
    sys_ = emu.root / "sys"
    for driver, module in (("bus/platform/drivers/k3-m4-rproc", "ti_k3_m4_remoteproc"),
                           ("bus/platform/drivers/k3_r5_rproc", "ti_k3_r5_remoteproc"),
                           ("bus/rpmsg/drivers/rpmsg_chrdev", "rpmsg_char"),
                           ("bus/rpmsg/drivers/rpmsg_ctrl", "rpmsg_ctrl")):
        assert os.path.realpath(sys_ / driver / "module") == str(sys_ / "module" / module)
        bus, drv = driver.split("/")[1], driver.split("/")[3]
        assert os.path.realpath(sys_ / "module" / module / "drivers" / f"{bus}:{drv}") == \
            str(sys_ / driver)
        assert (sys_ / "module" / module / "initstate").read_text() == "live\n"
    # rpmsg_ctrl needs rpmsg_char (lsmod: "rpmsg_char 12288 1 rpmsg_ctrl")
    assert os.listdir(sys_ / "module/rpmsg_char/holders") == ["rpmsg_ctrl"]
    assert (sys_ / "module/rpmsg_char/refcnt").read_text() == "1\n"
    # built in on TI's kernel: no module, no link
    assert not os.path.lexists(sys_ / "bus/rpmsg/drivers/rpmsg_ns/module")
    assert not os.path.lexists(sys_ / "bus/virtio/drivers/virtio_rpmsg_bus/module")


def test_char_majors_are_the_boards(emu):
    rpmsg = emu.root / "sys/class/rpmsg"
    assert (rpmsg / "rpmsg_ctrl0/dev").read_text() == "511:0\n"
    assert (rpmsg / "rpmsg_ctrl1/dev").read_text() == "511:1\n"
    assert (rpmsg / "rpmsg0/dev").read_text() == "234:0\n"


def test_rpmsg_bus_probe_files(emu):
    bus = emu.root / "sys/bus/rpmsg"
    assert sorted(e for e in os.listdir(bus) if not (bus / e).is_dir()) == \
        ["drivers_autoprobe", "drivers_probe", "uevent"]
    assert (bus / "drivers_autoprobe").read_text() == "1\n"
    write_attr(bus / "uevent", b"change\n")
    with pytest.raises(OSError) as info:
        write_attr(bus / "drivers_probe", b"virtio9.nothing.0.0\0")
    assert info.value.errno == errno.ENODEV


def test_autoprobe_off_leaves_new_channels_unbound_until_drivers_probe(emu):
    sys_ = emu.root / "sys"
    write_attr(sys_ / "bus/rpmsg/drivers_autoprobe", b"0\n")
    state = sys_ / "class/remoteproc/remoteproc0/state"
    state.write_text("stop")
    state.write_text("start")
    ctrl = sys_ / "bus/rpmsg/devices/virtio0.rpmsg_ctrl.0.0"
    assert ctrl.exists() and not os.path.lexists(ctrl / "driver")
    assert not os.path.exists(emu.root / "dev/rpmsg_ctrl0")
    write_attr(sys_ / "bus/rpmsg/drivers_probe", b"virtio0.rpmsg_ctrl.0.0\0")  # strlen+1
    assert os.readlink(ctrl / "driver").endswith("bus/rpmsg/drivers/rpmsg_ctrl")
    assert os.path.exists(emu.root / "dev/rpmsg_ctrl0")


@pytest.mark.skipif(os.geteuid() != 0, reason="rpmsg-emu run as root")
def test_proc_devices_under_run_lists_the_emulated_majors():
    result = subprocess.run([sys.executable, "-m", "fusedev.cli", "run", "--", "cat",
                             "/proc/devices"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    chars = result.stdout.split("\n\n")[0].splitlines()
    assert chars[0] == "Character devices:"
    assert "234 rpmsg_char" in chars and "511 rpmsg_ctrl" in chars
    assert any(line.endswith(" remoteproc") for line in chars)
    majors = [int(line.split()[0]) for line in chars[1:]]
    assert majors == sorted(majors)
    assert "Block devices:" in result.stdout
