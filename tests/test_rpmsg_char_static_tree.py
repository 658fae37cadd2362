"""rpmsg_char against static kernel sysfs layouts written to a temporary directory (no FUSE).

The tree builder writes exactly what the reference describes for a TI K3 board: the 6.1+
`rproc-virtio.N.auto` layout and the pre-6.1 `remoteprocN#vdev0buffer` layout with rpmsg_ctrl
under the channel, relative symlinks, `name`/`src` attributes ending in a newline. A small fake
of the kernel's two ioctls (monkeypatched in place of fcntl.ioctl) creates and removes eptdevs
as rpmsg_ctrl does, with a FIFO standing in for /dev/rpmsgN, so whole sessions can run.
"""

import errno
import os
import struct

import pytest
import trio

from rpmsg_char import (RPMSG_ADDR_ANY, RProcId, RpmsgChar, RpmsgCharError, RpmsgTimeout, rpmsg_char_close,
                        rpmsg_char_exit, rpmsg_char_init, rpmsg_char_open)
from rpmsg_char import eptdev as eptdev_module
from rpmsg_char.examples import benchmark, simple

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
        self.mainline_src = False

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

    def add_eptdev(self, ctrl, index, name, src, node="fifo"):
        """What CREATE_EPT makes before returning: rpmsgN under the ctrl device, its class link and node.

        A FIFO node echoes what is written; a regular file reads back nothing (EOF).
        """
        ept = f"{self.ctrl_dirs[ctrl]}/rpmsg{index}"
        self.write(f"{ept}/name", f"{name}\n")
        self.write(f"{ept}/src", f"{src}\n")
        self.link(f"sys/class/rpmsg/rpmsg{index}", ept)
        if node == "fifo":
            os.mkfifo(self._abs(f"dev/rpmsg{index}"))
        else:
            self.write(f"dev/rpmsg{index}", "")

    def remove_eptdev(self, index):
        ept = os.path.realpath(self._abs(f"sys/class/rpmsg/rpmsg{index}"))
        for attr in os.listdir(ept):
            os.unlink(os.path.join(ept, attr))
        os.rmdir(ept)
        os.unlink(self._abs(f"sys/class/rpmsg/rpmsg{index}"))
        os.unlink(self._abs(f"dev/rpmsg{index}"))

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


class FakeKernelIoctls:
    """CREATE_EPT / DESTROY_EPT as rpmsg_ctrl and rpmsg_char handle them, on the static tree."""

    def __init__(self, tree):
        self.tree = tree
        self.next_index = 1
        self.next_addr = 1024
        self.calls = []
        self.node_kind = "fifo"
        self.prefill = b""
        self.held_fds = []

    def __call__(self, fd, request, arg=0):
        node = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        self.calls.append((node, request))
        if request == 0x4028B501 and node.startswith("rpmsg_ctrl"):
            raw_name, src, dst = struct.unpack("=32sII", arg)
            index, self.next_index = self.next_index, self.next_index + 1
            if src == RPMSG_ADDR_ANY and not self.tree.mainline_src:
                src, self.next_addr = self.next_addr, self.next_addr + 1
            shown = src - (1 << 32) if src >= 1 << 31 else src
            self.tree.add_eptdev(int(node.removeprefix("rpmsg_ctrl")), index, raw_name.rstrip(b"\0").decode(),
                                 shown, self.node_kind)
            if self.prefill:  # a message already queued, e.g. a stray reply
                self.held_fds.append(os.open(os.path.join(self.tree.root, f"dev/rpmsg{index}"), os.O_RDWR))
                os.write(self.held_fds[-1], self.prefill)
            return arg
        if request == 0xB502 and node.startswith("rpmsg") and not node.startswith("rpmsg_ctrl"):
            self.tree.remove_eptdev(int(node.removeprefix("rpmsg")))
            return 0
        raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))

    def destroyed(self):
        return [node for node, request in self.calls if request == 0xB502]


@pytest.fixture
def am62x(tmp_path):
    tree = KernelTree(tmp_path)
    tree.add_core(AM62X_M4F, remoteproc=0, virtio=0, ctrl=0, rproc_virtio_id=2)
    tree.add_core(AM62X_WKUP_R5F, remoteproc=1, virtio=1, ctrl=1, rproc_virtio_id=3)
    return tree


@pytest.fixture
def kernel(am62x, monkeypatch):
    fake = FakeKernelIoctls(am62x)
    monkeypatch.setattr(eptdev_module, "ioctl", fake)
    yield fake
    for fd in fake.held_fds:
        os.close(fd)


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


# -- whole sessions with the fake ioctls ------------------------------------------------------------


def test_ti_style_session_round_trip(am62x, kernel):
    assert rpmsg_char_init(root=am62x.root) == 0
    assert rpmsg_char_init() == 1

    dev = rpmsg_char_open(RProcId.M4F_MCU0_0, None, RPMSG_ADDR_ANY, 14, "rpmsg-char-9-4242", 0)
    assert dev.endpt == 1024 and dev.fd >= 0
    assert os.path.exists(os.path.join(am62x.root, "dev/rpmsg1"))
    assert os.read(dev.fd, 0) == b""  # the fd is the open /dev/rpmsg1

    dev.send(b"hello there 0!")  # the FIFO stands in for an echoing remote
    assert dev.recv(timeout=1) == b"hello there 0!"

    assert rpmsg_char_close(dev) == 0
    assert dev.fd == -1 and kernel.destroyed() == ["rpmsg1"]
    assert not os.path.exists(os.path.join(am62x.root, "dev/rpmsg1"))
    with pytest.raises(RpmsgCharError) as err:
        rpmsg_char_close(dev)
    assert err.value.errno == errno.ENOENT


def test_31_byte_name_works_where_ti_managed_only_30(am62x, kernel):
    name = "x" * 31
    with RpmsgChar(root=am62x.root) as rc, rc.open(RProcId.R5F_WKUP0_0, 14, eptdev_name=name) as ept:
        assert ept.name == name and ept.node.endswith("/dev/rpmsg1")


def test_mainline_src_minus_one_is_explained_and_the_eptdev_destroyed(am62x, kernel):
    am62x.mainline_src = True
    rc = RpmsgChar(root=am62x.root)
    with pytest.raises(RpmsgCharError) as err:
        rc.open(RProcId.M4F_MCU0_0, 14, eptdev_name="rpmsg-char-9-1")
    assert "src reads -1" in str(err.value) and "Pass an explicit local endpoint >= 1024" in str(err.value)
    assert err.value.step == "read local address"
    assert kernel.destroyed() == ["rpmsg1"]  # TI's library leaks it here
    assert rc.endpoints == ()

    with rc.open(RProcId.M4F_MCU0_0, 14, local_endpt=2048) as ept:
        assert ept.endpt == 2048


def test_stale_eptdev_with_the_same_name_is_not_mistaken_for_the_new_one(am62x, kernel):
    am62x.add_eptdev(0, 7, "rpmsg-char-9-1", 1030)  # left behind by a crashed run
    with RpmsgChar(root=am62x.root) as rc, rc.open(RProcId.M4F_MCU0_0, 14, eptdev_name="rpmsg-char-9-1") as ept:
        assert ept.node.endswith("/dev/rpmsg1") and ept.endpt == 1024


def test_pythonic_endpoint_timeouts_and_closing(am62x, kernel):
    with RpmsgChar(root=am62x.root) as rc:
        ept = rc.open(RProcId.M4F_MCU0_0, 14)
        assert ept.name.startswith(f"rpmsg-char-9-{os.getpid()}-")
        assert ept.fileno() == ept.fd and rc.endpoints == (ept,)
        with pytest.raises(RpmsgTimeout) as err:
            ept.recv(timeout=0.05)
        assert isinstance(err.value, TimeoutError) and err.value.errno == errno.ETIMEDOUT
        ept.send(b"abcdef")
        assert ept.recv(3, timeout=1) == b"abc"
        leftover = rc.open(RProcId.R5F_WKUP0_0, 14)
        ept.close()
        ept.close()
        with pytest.raises(RpmsgCharError, match="is closed") as err:
            ept.send(b"x")
        assert err.value.errno == errno.EBADF
        assert rc.endpoints == (leftover,)
    assert leftover.closed and kernel.destroyed() == ["rpmsg1", "rpmsg2"]


def test_destroy_failure_still_closes_the_fd(am62x, kernel, monkeypatch):
    rc = RpmsgChar(root=am62x.root)
    ept = rc.open(RProcId.M4F_MCU0_0, 14)
    fd = ept.fd
    monkeypatch.setattr(eptdev_module, "ioctl", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOTTY, "x")))
    with pytest.raises(RpmsgCharError, match="DESTROY_EPT ioctl on .*/dev/rpmsg1 failed") as err:
        ept.close()
    assert err.value.errno == errno.ENOTTY
    with pytest.raises(OSError):
        os.fstat(fd)
    assert rc.endpoints == ()


def test_close_from_another_thread_never_pulls_the_fd_from_under_a_reader(am62x, kernel):
    import threading
    ept = RpmsgChar(root=am62x.root).open(RProcId.M4F_MCU0_0, 14)
    fd, outcome = ept.fd, []
    reader = threading.Thread(target=lambda: outcome.append(pytest.raises(RpmsgTimeout, ept.recv, timeout=0.3)))
    reader.start()
    while not ept._users:  # wait until the reader is inside recv
        pass
    ept.close()
    assert ept.closed and kernel.destroyed() == ["rpmsg1"]
    os.fstat(fd)  # still open: the reader is using it
    reader.join()
    assert outcome and ept.fd == -1
    with pytest.raises(OSError):
        os.fstat(fd)


def test_nonblocking_endpoint_says_it_would_block(am62x, kernel):
    with RpmsgChar(root=am62x.root) as rc, rc.open(RProcId.M4F_MCU0_0, 14, flags=os.O_NONBLOCK) as ept:
        with pytest.raises(RpmsgCharError, match="would block") as err:
            ept.recv()
        assert err.value.errno == errno.EAGAIN and err.value.step == "recv"


def test_ti_functions_refuse_to_work_uninitialised():
    with pytest.raises(RpmsgCharError, match=r"rpmsg_char_init\(\) has not been called"):
        rpmsg_char_open(RProcId.M4F_MCU0_0, None, RPMSG_ADDR_ANY, 14, "rpmsg-char-9-1", 0)
    with pytest.raises(RpmsgCharError) as err:
        rpmsg_char_close(None)
    assert err.value.errno == errno.EINVAL


async def test_trio_receive_waits_without_blocking_the_loop(am62x, kernel):
    rc = RpmsgChar(root=am62x.root)
    with rc.open(RProcId.M4F_MCU0_0, 14) as ept:
        with trio.move_on_after(0.05) as scope:
            await ept.arecv()
        assert scope.cancelled_caught

        async def remote_replies_later():
            await trio.sleep(0.02)
            ept.send(b"pong")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(remote_replies_later)
            assert await ept.arecv() == b"pong"


# -- the example programs ---------------------------------------------------------------------------


def test_simple_example_prints_ti_lines_and_passes(am62x, kernel, capsys):
    assert simple.main(["-r", "9", "-n", "3", "--root", am62x.root]) == 0

    name = f"rpmsg-char-9-{os.getpid()}"
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"Created endpt device {name}, fd = ") and out[0].endswith(" port = 1024")
    assert out[1:] == [
        f"Exchanging 3 messages with rpmsg device {name} on rproc id 9 ...", "",
        "Sending message #0: hello there 0!", "hello there 0!",
        "Sending message #1: hello there 1!", "hello there 1!",
        "Sending message #2: hello there 2!", "hello there 2!",
        "", f"Communicated 3 messages successfully on {name}", "",
        "TEST STATUS: PASSED",
    ]
    assert kernel.destroyed() == ["rpmsg1"]


def test_simple_example_fails_on_a_wrong_echo(am62x, kernel, capsys):
    kernel.prefill = b"stale "
    assert simple.main(["-r", "15", "-n", "2", "--root", am62x.root]) == 1
    out, err = capsys.readouterr()
    assert "b'stale hello there 0!' differs from what was sent, b'hello there 0!'" in err
    assert out.splitlines()[-1] == "TEST STATUS: FAILED" and "Communicated" not in out
    assert kernel.destroyed() == ["rpmsg1"]


def test_simple_example_is_not_fooled_by_a_plain_file(am62x, kernel, capsys):
    """TI's example prints PASSED here: the write lands in the file and read() returns EOF."""
    kernel.node_kind = "file"
    assert simple.main(["-r", "9", "-n", "1", "--root", am62x.root]) == 1
    assert "the reply b'' differs" in capsys.readouterr().err


def test_simple_example_with_tis_default_core_on_am62x(am62x, kernel, capsys):
    assert simple.main(["--root", am62x.root]) == 1
    out, err = capsys.readouterr()
    assert "Can't create an endpoint device: map rproc id: SoC AM62X has no rproc id 0" in err
    assert out == "TEST STATUS: FAILED\n"


def test_benchmark_reports_latency_statistics(am62x, kernel, capsys):
    assert benchmark.main(["-r", "9", "-n", "50", "--root", am62x.root]) == 0
    out = capsys.readouterr().out
    name = f"rpmsg-char-9-{os.getpid()}"
    assert f"Exchanging 50 messages of 100 bytes with rpmsg device {name} on rproc id 9 ..." in out
    assert f"Communicated 50 messages successfully on {name}" in out
    for label in ("Average round-trip latency: ", "Worst-case round-trip latency: ",
                  "Round-trip latency percentiles: p50 = ", "Round-trip latency histogram:"):
        assert label in out
    bars = [line for line in out.splitlines() if " us | " in line]
    assert sum(int(line.split("|")[1].split()[0]) for line in bars) == 50
    assert out.endswith("TEST STATUS: PASSED\n")


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
