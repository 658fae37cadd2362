"""rpmsg_char against static kernel sysfs layouts written to a temporary directory (no FUSE).

The tree builder writes exactly what the reference describes for a TI K3 board: the 6.1+
`rproc-virtio.N.auto` layout and the pre-6.1 `remoteprocN#vdev0buffer` layout with rpmsg_ctrl
under the channel, relative symlinks, `name`/`src` attributes ending in a newline. This shows
the discovery walk matches the real kernel layouts; whole sessions run against the emulator in
test_rpmsg_char_emulated.py.
"""

import errno
import os

import pytest

from rpmsg_char import (RPMSG_ADDR_ANY, RProcId, RpmsgChar, RpmsgCharError, rpmsg_char_close,
                        rpmsg_char_exit, rpmsg_char_init, rpmsg_char_open)
from rpmsg_char.examples import benchmark

AM62X_M4F = "platform/bus@f0000/bus@f0000:bus@4000000/5000000.m4fss"
AM62X_WKUP_R5F = "platform/bus@f0000/bus@f0000:bus@b00000/bus@f0000:bus@b00000:r5fss@78000000/78000000.r5f"
J721E_MAIN_R5F = "platform/bus@100000/bus@100000:r5fss@5c00000/5c00000.r5f"
AM64X_MAIN_R5F = "platform/bus@f4000/bus@f4000:r5fss@78000000/78000000.r5f"
ECHO_CHANNELS = (("ti.ipc4.ping-pong", 13), ("rpmsg_chrdev", 14))


class KernelTree:
    """A board's /sys and /dev under `root`, laid out as the TI 6.x (or a pre-6.1) kernel does."""

    def __init__(self, root, family="AM62X"):
        self.root = str(root)
        for d in ("sys/class/remoteproc", "sys/bus/virtio/devices", "sys/bus/rpmsg/devices",
                  "sys/class/rpmsg", "sys/bus/platform/devices", "sys/devices/soc0", "dev"):
            os.makedirs(self._abs(d), exist_ok=True)
        self.write("sys/devices/soc0/family", f"{family}\n")
        self.ctrl_dirs = {}

    def add_core(self, platform_rel, *, remoteproc=0, virtio=0, ctrl=0, legacy=False, rproc_virtio_id=2,
                 channels=ECHO_CHANNELS, state="running"):
        """A probed remote core running echo firmware; returns the sysfs paths the kernel would make."""
        name = os.path.basename(platform_rel)
        platform = f"sys/devices/{platform_rel}"
        rproc = f"{platform}/remoteproc/remoteproc{remoteproc}"
        self.write(f"{rproc}/state", f"{state}\n")
        self.write(f"{rproc}/name", f"{name}\n")
        self.link(f"sys/class/remoteproc/remoteproc{remoteproc}", rproc)
        self.link(f"sys/bus/platform/devices/{name}", platform)
        parent = f"{rproc}/remoteproc{remoteproc}#vdev0buffer" if legacy else \
            f"{rproc}/rproc-virtio.{rproc_virtio_id}.auto"
        vdev = f"{parent}/virtio{virtio}"
        paths = {"platform": platform, "remoteproc": rproc, "virtio": vdev}
        if state != "running":
            os.makedirs(self._abs(parent), exist_ok=True)
            return paths
        self.link(f"sys/bus/virtio/devices/virtio{virtio}", vdev)
        os.makedirs(self._abs(f"{vdev}/virtio{virtio}.rpmsg_ns.53.53"))
        for channel, dst in channels:
            os.makedirs(self._abs(f"{vdev}/virtio{virtio}.{channel}.-1.{dst}/rpmsg"))
        ctrl_parent = f"{vdev}/virtio{virtio}.rpmsg_chrdev.-1.14" if legacy else \
            f"{vdev}/virtio{virtio}.rpmsg_ctrl.0.0"
        ctrl_dir = f"{ctrl_parent}/rpmsg/rpmsg_ctrl{ctrl}"
        os.makedirs(self._abs(ctrl_dir))
        self.link(f"sys/class/rpmsg/rpmsg_ctrl{ctrl}", ctrl_dir)
        self.write(f"dev/rpmsg_ctrl{ctrl}", "")
        self.ctrl_dirs[ctrl] = ctrl_dir
        paths.update(ctrl=ctrl_dir, channel=f"{vdev}/virtio{virtio}.rpmsg_chrdev.-1.14")
        return paths

    def real(self, rel):
        return os.path.realpath(self._abs(rel))

    def write(self, rel, text):
        os.makedirs(os.path.dirname(self._abs(rel)), exist_ok=True)
        with open(self._abs(rel), "w") as f:
            f.write(text)

    def link(self, rel, target_rel):
        """A relative symlink, as the driver core makes them."""
        link = self._abs(rel)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(self._abs(target_rel), os.path.dirname(link)), link)

    def _abs(self, rel):
        return os.path.join(self.root, rel)


@pytest.fixture
def am62x(tmp_path):
    tree = KernelTree(tmp_path)
    tree.add_core(AM62X_M4F, remoteproc=0, virtio=0, ctrl=0, rproc_virtio_id=2)
    tree.add_core(AM62X_WKUP_R5F, remoteproc=1, virtio=1, ctrl=1, rproc_virtio_id=3)
    return tree


@pytest.fixture(autouse=True)
def fresh_ti_state():
    yield
    rpmsg_char_exit()


# -- the walk: rproc → virtio → channel → rpmsg_ctrl ------------------------------------------------


def test_am62x_m4f_route_is_the_one_the_6_1_layout_implies(am62x):
    rc = RpmsgChar(root=am62x.root)
    route = rc.route(RProcId.M4F_MCU0_0, 14)

    assert rc.soc == "AM62X"
    base = "sys/devices/" + AM62X_M4F
    assert route.platform_dir == am62x.real(base)
    assert route.remoteproc_dir == am62x.real(f"{base}/remoteproc/remoteproc0")
    assert route.virtio_dir == am62x.real(f"{base}/remoteproc/remoteproc0/rproc-virtio.2.auto/virtio0")
    assert route.channel_dir == route.virtio_dir + "/virtio0.rpmsg_chrdev.-1.14"
    assert route.ctrl_dir == route.virtio_dir + "/virtio0.rpmsg_ctrl.0.0/rpmsg/rpmsg_ctrl0"
    assert route.ctrl_index == 0


def test_second_core_on_the_same_board_finds_its_own_indices(am62x):
    route = RpmsgChar(root=am62x.root).route(RProcId.R5F_WKUP0_0, 13, dev_name="ti.ipc4.ping-pong")

    assert route.platform_name == "78000000.r5f"
    assert route.virtio_dir.endswith("78000000.r5f/remoteproc/remoteproc1/rproc-virtio.3.auto/virtio1")
    assert os.path.basename(route.channel_dir) == "virtio1.ti.ipc4.ping-pong.-1.13"
    assert route.ctrl_index == 1


@pytest.mark.parametrize("family, rel, rproc_id", [
    ("J721E", J721E_MAIN_R5F, RProcId.R5F_MAIN0_0),
    ("AM64X", AM64X_MAIN_R5F, RProcId.R5F_MAIN0_0),
    ("AM64X", "platform/bus@f4000/5000000.m4fss", RProcId.M4F_MCU0_0),
])
def test_pre_6_1_layout_with_ctrl_under_the_channel(tmp_path, family, rel, rproc_id):
    tree = KernelTree(tmp_path, family)
    tree.add_core(rel, remoteproc=3, virtio=2, ctrl=4, legacy=True)

    route = RpmsgChar(root=tmp_path).route(rproc_id, 14)

    vdev = tree.real(f"sys/devices/{rel}/remoteproc/remoteproc3/remoteproc3#vdev0buffer/virtio2")
    assert route.virtio_dir == vdev
    assert route.ctrl_dir == f"{vdev}/virtio2.rpmsg_chrdev.-1.14/rpmsg/rpmsg_ctrl4"
    assert route.ctrl_index == 4


def test_root_from_environment(am62x, monkeypatch):
    monkeypatch.setenv("RPMSG_CHAR_ROOT", am62x.root)
    assert RpmsgChar().root == os.path.realpath(am62x.root)


def test_soc_name_is_only_a_fallback(tmp_path):
    tree = KernelTree(tmp_path, family="AM62X")
    assert RpmsgChar("j721e", root=tmp_path).soc == "AM62X"
    os.unlink(os.path.join(tree.root, "sys/devices/soc0/family"))
    assert RpmsgChar("j721e", root=tmp_path).soc == "J721E"
    with pytest.raises(RpmsgCharError) as err:
        RpmsgChar(root=tmp_path)
    assert err.value.errno == errno.ENOENT and "SoC family not recognised" in str(err.value)


def test_missing_kernel_support_is_named(tmp_path):
    KernelTree(tmp_path)
    os.rmdir(tmp_path / "sys/bus/rpmsg/devices")
    os.rmdir(tmp_path / "sys/bus/rpmsg")
    with pytest.raises(RpmsgCharError, match="rpmsg bus not present") as err:
        RpmsgChar(root=tmp_path)
    assert err.value.path == str(tmp_path / "sys/bus/rpmsg")


# -- clear errors -----------------------------------------------------------------------------------


def test_invalid_rproc_id_for_the_soc(am62x):
    rpmsg_char_init(root=am62x.root)
    with pytest.raises(RpmsgCharError) as err:
        rpmsg_char_open(RProcId.R5F_MCU0_0, None, RPMSG_ADDR_ANY, 14, "rpmsg-char-0-1", 0)
    assert err.value.errno == errno.EINVAL
    assert "SoC AM62X has no rproc id 0 (R5F_MCU0_0); valid: 9 M4F_MCU0_0, 15 R5F_WKUP0_0" in str(err.value)


def test_missing_channel_names_core_endpoint_and_what_exists(am62x):
    rc = RpmsgChar(root=am62x.root)
    with pytest.raises(RpmsgCharError) as err:
        rc.open(RProcId.M4F_MCU0_0, 15)
    assert err.value.errno == errno.ENODEV
    assert "no rpmsg_chrdev channel at endpoint 15 on M4F_MCU0_0 (5000000.m4fss)" in str(err.value)
    assert "channels: rpmsg_chrdev@14, ti.ipc4.ping-pong@13" in str(err.value)
    assert err.value.step == "find channel"


def test_stopped_core_says_it_has_no_virtio_device(tmp_path):
    KernelTree(tmp_path).add_core(AM62X_M4F, state="offline")
    with pytest.raises(RpmsgCharError, match=r"M4F_MCU0_0 \(5000000.m4fss\) has no virtio device "
                                             r"\(remoteproc state: offline\)"):
        RpmsgChar(root=tmp_path).route(RProcId.M4F_MCU0_0, 14)


def test_platform_link_leading_outside_sys_devices_is_refused(am62x, tmp_path):
    link = os.path.join(am62x.root, "sys/bus/platform/devices/5000000.m4fss")
    os.unlink(link)
    os.symlink(am62x.real("sys/devices/" + AM62X_M4F), link)  # absolute: fine for realpath, wrong for sysfs
    other = tmp_path / "elsewhere"
    os.symlink(am62x.real("sys/devices/" + AM62X_WKUP_R5F), other)
    os.unlink(os.path.join(am62x.root, "sys/bus/platform/devices/78000000.r5f"))
    os.symlink("../../../../elsewhere", os.path.join(am62x.root, "sys/bus/platform/devices/78000000.r5f"))
    rc = RpmsgChar(root=am62x.root)

    assert rc.route(RProcId.M4F_MCU0_0, 14).ctrl_index == 0
    os.unlink(other)
    os.makedirs(other)
    with pytest.raises(RpmsgCharError, match=r"resolves to .*/elsewhere, outside .*/sys/devices/"):
        rc.route(RProcId.R5F_WKUP0_0, 14)


def test_symlinked_directories_are_not_walked(am62x):
    """TI trusts readdir's d_type: a remoteprocN that is a symlink is not a device directory."""
    rproc = am62x.real("sys/devices/" + AM62X_M4F + "/remoteproc")
    os.rename(f"{rproc}/remoteproc0", f"{rproc}/../real-remoteproc0")
    os.symlink("../real-remoteproc0", f"{rproc}/remoteproc0")
    with pytest.raises(RpmsgCharError, match="is not probed as a remoteproc: nothing matching"):
        RpmsgChar(root=am62x.root).route(RProcId.M4F_MCU0_0, 14)


@pytest.mark.parametrize("local", [0, 53, 1023])
def test_reserved_local_address_is_refused_before_any_io(am62x, local):
    rpmsg_char_init(root=am62x.root)
    os.unlink(os.path.join(am62x.root, "dev/rpmsg_ctrl0"))
    with pytest.raises(RpmsgCharError, match=f"local endpoint {local} is reserved") as err:
        rpmsg_char_open(RProcId.M4F_MCU0_0, None, local, 14, "rpmsg-char-9-1", 0)
    assert err.value.errno == errno.EINVAL


def test_remote_address_any_is_refused(am62x):
    with pytest.raises(RpmsgCharError, match="RPMSG_ADDR_ANY cannot be a destination"):
        RpmsgChar(root=am62x.root).open(RProcId.M4F_MCU0_0, RPMSG_ADDR_ANY)


def test_name_longer_than_the_kernel_keeps_is_refused(am62x):
    rpmsg_char_init(root=am62x.root)
    with pytest.raises(RpmsgCharError, match="must be 1 to 31 bytes") as err:
        rpmsg_char_open(RProcId.M4F_MCU0_0, None, RPMSG_ADDR_ANY, 14, "n" * 32, 0)
    assert err.value.errno == errno.EINVAL


def test_ioctl_on_a_regular_file_is_a_clear_error(am62x):
    """Without a driver (or an unmounted emulator) /dev/rpmsg_ctrl0 is a plain file: ENOTTY."""
    rc = RpmsgChar(root=am62x.root)
    with pytest.raises(RpmsgCharError) as err:
        rc.open(RProcId.M4F_MCU0_0, 14, eptdev_name="rpmsg-char-9-1")
    assert err.value.errno == errno.ENOTTY
    assert err.value.step == "create eptdev"
    assert err.value.path == os.path.join(rc.root, "dev/rpmsg_ctrl0")
    assert "CREATE_EPT ioctl on" in str(err.value) and "is it really an rpmsg device?" in str(err.value)


# -- without a kernel -------------------------------------------------------------------------------


def test_ti_functions_refuse_to_work_uninitialised():
    with pytest.raises(RpmsgCharError, match=r"rpmsg_char_init\(\) has not been called"):
        rpmsg_char_open(RProcId.M4F_MCU0_0, None, RPMSG_ADDR_ANY, 14, "rpmsg-char-9-1", 0)
    with pytest.raises(RpmsgCharError) as err:
        rpmsg_char_close(None)
    assert err.value.errno == errno.EINVAL


@pytest.mark.parametrize("size", ["0", "497"])
def test_benchmark_refuses_sizes_one_message_cannot_carry(am62x, size, capsys):
    with pytest.raises(SystemExit) as exit_:
        benchmark.main(["-m", size, "--root", am62x.root])
    assert exit_.value.code == 2 and "message length must be 1..496" in capsys.readouterr().err


def test_package_imports_nothing_from_the_emulator():
    import subprocess
    import sys
    code = ("import sys, rpmsg_char, rpmsg_char.examples.simple, rpmsg_char.examples.benchmark; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('fusedev', 'remote_fw', 'kernel_cfg', 'trio')]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
