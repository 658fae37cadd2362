"""/dev/remoteprocN (CONFIG_REMOTEPROC_CDEV, drivers/remoteproc/remoteproc_cdev.c): the node,
its sysfs numbers, start/stop/detach writes with their errnos, the shutdown-on-release ioctls.
"""
from __future__ import annotations

import errno
import fcntl
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from c_clients import compile_client

RPROC_SET_SHUTDOWN_ON_RELEASE = 0x4004B701  # _IOW(0xB7, 1, __s32)
RPROC_GET_SHUTDOWN_ON_RELEASE = 0x8004B702  # _IOR(0xB7, 2, __s32)
M4F = "sys/class/remoteproc/remoteproc0"
R5F = "sys/class/remoteproc/remoteproc1"


def state(root: Path, rproc: str = M4F) -> str:
    return (root / rproc / "state").read_text().rstrip("\n")


def wait_state(root: Path, expected: str, rproc: str = M4F, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while state(root, rproc) != expected:
        assert time.monotonic() < deadline, f"{rproc} is {state(root, rproc)}, not {expected}"
        time.sleep(0.02)


def errno_of(call, *args) -> int:
    with pytest.raises(OSError) as err:
        call(*args)
    return err.value.errno


def test_every_remoteproc_has_a_node_a_dev_attribute_and_a_sys_dev_char_link(emu) -> None:
    root = emu.root
    for index in range(4):  # M4F, wakeup R5F, the two PRUs
        cls = root / f"sys/class/remoteproc/remoteproc{index}"
        major, minor = map(int, (cls / "dev").read_text().split(":"))
        assert minor == index  # MKDEV(MAJOR(rproc_major), rproc->index)
        assert (root / f"dev/remoteproc{index}").exists()
        link = root / f"sys/dev/char/{major}:{minor}"
        assert os.path.realpath(link) == os.path.realpath(cls)
        uevent = (cls / "uevent").read_text()
        assert f"MAJOR={major}\nMINOR={minor}\nDEVNAME=remoteproc{index}\n" in uevent


def test_writes_start_and_stop_with_the_kernels_errnos(emu) -> None:
    fd = os.open(emu.root / "dev/remoteproc0", os.O_RDWR)
    assert errno_of(os.write, fd, b"start") == errno.EBUSY  # already running
    assert errno_of(os.write, fd, b"stop\n") == errno.EINVAL  # strncmp over the newline too
    assert errno_of(os.write, fd, b"restart") == errno.EINVAL
    assert errno_of(os.write, fd, b"stop stop!!") == errno.EINVAL  # more than 10 bytes
    assert os.write(fd, b"stop\0") == 5  # strlen(s) + 1
    assert state(emu.root) == "offline"
    assert errno_of(os.write, fd, b"stop") == errno.EINVAL
    assert os.write(fd, b"st") == 2  # strncmp(cmd, "start", 2): a prefix is the word
    assert state(emu.root) == "running"
    assert errno_of(os.read, fd, 16) == errno.EINVAL  # no .read
    os.close(fd)


def test_an_ipc_only_core_cannot_stop_but_detaches_and_attaches(emu) -> None:
    fd = os.open(emu.root / "dev/remoteproc1", os.O_WRONLY)
    assert errno_of(os.write, fd, b"stop") == errno.EINVAL  # no stop op in IPC-only mode
    assert state(emu.root, R5F) == "attached"
    os.write(fd, b"detach")
    assert state(emu.root, R5F) == "detached"
    assert errno_of(os.write, fd, b"detach") == errno.EINVAL
    os.write(fd, b"start")
    assert state(emu.root, R5F) == "attached"
    os.close(fd)


def test_shutdown_on_release_is_off_by_default_and_stops_the_core_at_close(emu) -> None:
    fd = os.open(emu.root / "dev/remoteproc0", os.O_RDWR)
    out = bytearray(4)
    assert fcntl.ioctl(fd, RPROC_GET_SHUTDOWN_ON_RELEASE, out, True) == 0
    assert struct.unpack("=i", out)[0] == 0
    os.close(fd)
    time.sleep(0.2)
    assert state(emu.root) == "running"  # closing without the flag changes nothing

    fd = os.open(emu.root / "dev/remoteproc0", os.O_RDWR)
    fcntl.ioctl(fd, RPROC_SET_SHUTDOWN_ON_RELEASE, struct.pack("=i", 7))  # any non-zero
    fcntl.ioctl(fd, RPROC_GET_SHUTDOWN_ON_RELEASE, out, True)
    assert struct.unpack("=i", out)[0] == 1
    assert errno_of(fcntl.ioctl, fd, 0xB703) == errno.EINVAL  # any other ioctl
    # A NULL argument: copy_from_user fails before the driver looks (FUSE copies it likewise).
    assert errno_of(fcntl.ioctl, fd, RPROC_SET_SHUTDOWN_ON_RELEASE, 0) == errno.EFAULT
    os.close(fd)
    wait_state(emu.root, "offline")


def test_shutdown_on_release_detaches_an_attached_core(emu) -> None:
    fd = os.open(emu.root / "dev/remoteproc1", os.O_RDWR)
    fcntl.ioctl(fd, RPROC_SET_SHUTDOWN_ON_RELEASE, struct.pack("=i", 1))
    os.close(fd)
    wait_state(emu.root, "detached", R5F)


@pytest.mark.skipif(os.geteuid() != 0, reason="rpmsg-emu run needs root here")
def test_a_c_client_uses_dev_remoteproc0_under_run(tmp_path: Path) -> None:
    client = compile_client("remoteproc_cdev", tmp_path)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    result = subprocess.run([sys.executable, "-m", "fusedev.cli", "run", "--", str(client)],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    kind, numbers = lines[0].split(", ")
    assert kind.startswith("stat: char ")  # run answers stat as devtmpfs would
    assert kind.split()[-1] == numbers.split()[-1]  # st_rdev is the sysfs dev
    assert lines[1:] == ["after stop: offline", "after start: running",
                         "shutdown on release: 0", "shutdown on release: 1",
                         "after close: offline"]
