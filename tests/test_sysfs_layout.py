"""The sysfs tree of the default AM62x board, as the driver core lays it out on a TI kernel."""
from __future__ import annotations

import os

M4F = "devices/platform/bus@f0000/bus@f0000:bus@4000000/5000000.m4fss"


def test_soc_device_tells_the_family_with_a_newline(emu) -> None:
    soc = emu.root / "sys/devices/soc0"
    assert (soc / "family").read_text() == "AM62X\n"  # TI's library drops the last byte
    assert (soc / "machine").read_text() == "Texas Instruments AM625 SK\n"
    assert os.path.realpath(emu.root / "sys/bus/soc/devices/soc0") == str(soc)


def test_platform_and_class_links_are_relative_and_land_under_sys_devices(emu) -> None:
    sys_ = emu.root / "sys"
    link = sys_ / "bus/platform/devices/5000000.m4fss"
    assert os.readlink(link) == f"../../../{M4F}"
    assert os.readlink(sys_ / "class/remoteproc/remoteproc0") == \
        f"../../{M4F}/remoteproc/remoteproc0"
    virtio = os.readlink(sys_ / "bus/virtio/devices/virtio0")
    assert virtio == f"../../../{M4F}/remoteproc/remoteproc0/rproc-virtio.2.auto/virtio0"
    assert os.path.realpath(sys_ / "class/rpmsg/rpmsg_ctrl0") == str(
        sys_ / M4F / "remoteproc/remoteproc0/rproc-virtio.2.auto/virtio0"
                     "/virtio0.rpmsg_ctrl.0.0/rpmsg/rpmsg_ctrl0")


def test_class_devices_have_subsystem_device_dev_and_uevent(emu) -> None:
    ctrl = emu.root / "sys/class/rpmsg/rpmsg_ctrl0"
    assert os.readlink(ctrl / "subsystem").endswith("/class/rpmsg")
    assert os.path.realpath(ctrl / "subsystem") == str(emu.root / "sys/class/rpmsg")
    assert os.readlink(ctrl / "device") == "../../../virtio0.rpmsg_ctrl.0.0"
    major, minor = (ctrl / "dev").read_text().strip().split(":")
    assert (ctrl / "uevent").read_text() == \
        f"MAJOR={major}\nMINOR={minor}\nDEVNAME=rpmsg_ctrl0\n"
    assert os.path.realpath(emu.root / f"sys/dev/char/{major}:{minor}") == \
        os.path.realpath(ctrl)


def test_virtio_and_channel_devices(emu) -> None:
    virtio = emu.root / "sys/bus/virtio/devices/virtio0"
    assert (virtio / "device").read_text() == "0x0007\n"
    assert os.readlink(virtio / "driver").endswith("bus/virtio/drivers/virtio_rpmsg_bus")
    names = sorted(e for e in os.listdir(virtio) if e.startswith("virtio0."))
    assert names == ["virtio0.rpmsg_chrdev.-1.14", "virtio0.rpmsg_ctrl.0.0",
                     "virtio0.rpmsg_ns.53.53", "virtio0.ti.ipc4.ping-pong.-1.13"]
    ns = virtio / "virtio0.rpmsg_ns.53.53"
    assert (ns / "src").read_text() == "0x35\n" and (ns / "dst").read_text() == "0x35\n"
    assert (ns / "uevent").read_text() == "DRIVER=rpmsg_ns\nMODALIAS=rpmsg:rpmsg_ns\n"


def test_remoteproc_glue_directory_and_debugfs(emu) -> None:
    platform = emu.root / "sys" / M4F
    assert sorted(os.listdir(platform / "remoteproc")) == ["remoteproc0"]
    assert os.readlink(platform / "driver").endswith("bus/platform/drivers/k3-m4-rproc")
    # ti_k3_r5_remoteproc.c binds the cluster (r5fss) and creates the cores, which stay
    # without a driver ("platform 78000000.r5f: …" in a board's log).
    r5fss = emu.root / "sys/bus/platform/drivers/k3_r5_rproc/bus@f0000:bus@b00000:r5fss@78000000"
    assert os.path.realpath(r5fss) == os.path.realpath(
        emu.root / "sys/bus/platform/devices/78000000.r5f/..")
    assert not os.path.lexists(emu.root / "sys/bus/platform/devices/78000000.r5f/driver")
    debug = emu.root / "sys/kernel/debug/remoteproc"
    assert sorted(os.listdir(debug)) == [f"remoteproc{i}" for i in range(4)]  # M4F, R5F, PRUs
