"""TI K3 remoteproc as its drivers behave (drivers/remoteproc/ti_k3_*_remoteproc.c, v6.6):
recovery disabled on every core, a firmware fault only logged, the IPC-only wakeup R5F, the
AM62x PRU cores, and the debugfs directory a real AM62x SK shows.
"""
from __future__ import annotations

import errno
import logging
import os
import stat
import time
from pathlib import Path

import pytest

from emulator_thread import with_firmware
from rpmsg_ioctl import create_ept
from sysfs_io import write, write_errno

CLASS = "sys/class/remoteproc"
DEBUG = "sys/kernel/debug/remoteproc"
FAULTY_FIRMWARE = """
async def main(ctx):
    def fault(ep, src, data):
        raise RuntimeError("bad opcode " + data.decode())

    ep = ctx.create_endpoint(14, fault)
    await ep.announce("rpmsg_chrdev")
"""


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def read(root: Path, path: str) -> str:
    return (root / path).read_text()


@pytest.mark.board(soc="j721e")
def test_recovery_is_disabled_on_every_k3_core(emu) -> None:
    names = sorted(os.listdir(emu.root / CLASS))
    assert len(names) == 9  # 6 R5F, 2 C66x, 1 C71x
    for name in names:
        assert read(emu.root, f"{CLASS}/{name}/recovery") == "disabled\n", name
        assert read(emu.root, f"{DEBUG}/{name}/recovery") == "disabled\n", name


def test_a_firmware_fault_is_only_logged_as_the_k3_mailbox_callback_does(tmp_path: Path,
                                                                        caplog) -> None:
    emu = with_firmware(tmp_path, {9: "faulty", 15: "echo"}, {"faulty": FAULTY_FIRMWARE})
    root = emu.root
    try:
        with caplog.at_level(logging.INFO):
            m4f = root / CLASS / "remoteproc0"
            pattern = "rproc-virtio.*/virtio*/virtio*.rpmsg_chrdev.-1.14/rpmsg/rpmsg*"
            wait_for(lambda: any(m4f.glob(pattern)))
            node = next(m4f.glob(pattern)).name  # the M4F's rpmsg_chrdev channel
            fd = os.open(root / "dev" / node, os.O_RDWR)
            os.write(fd, b"x")
            wait_for(lambda: any("crashed" in r.getMessage() for r in caplog.records))
        crashed = [r for r in caplog.records if "rproc" in r.getMessage()
                   and "crashed" in r.getMessage()]
        assert len(crashed) == 1
        assert "K3 M4 rproc 5000000.m4fss crashed" in crashed[0].getMessage()
        assert "bad opcode x" in crashed[0].getMessage()
        # No rproc_report_crash: Linux still sees a running core with its devices.
        assert read(root, f"{CLASS}/remoteproc0/state") == "running\n"
        assert (root / "dev" / node).exists()
        # Stopping and starting the core is how a user gets it back.
        os.close(fd)
        write(root / CLASS / "remoteproc0/state", "stop")
        write(root / CLASS / "remoteproc0/state", "start")
        assert read(root, f"{CLASS}/remoteproc0/state") == "running\n"
    finally:
        emu.stop()


def test_the_wakeup_r5f_runs_in_ipc_only_mode(emu) -> None:
    r5f = emu.root / CLASS / "remoteproc1"
    assert read(r5f, "state") == "attached\n"
    assert read(r5f, "firmware") == "unknown\n"
    assert write_errno(r5f / "state", "stop") == errno.EINVAL  # no stop op (configure_mode)
    assert read(r5f, "state") == "attached\n"
    assert write_errno(r5f / "firmware", "other-fw") == errno.EBUSY
    node = create_ept(emu.root, "before", ctrl=1)

    write(r5f / "state", "detach")
    assert read(r5f, "state") == "detached\n"
    assert read(r5f, "firmware") == "am62-wkup-r5f0_0-fw\n"
    assert not (emu.root / "dev" / node).exists()  # its rpmsg devices went with the vdev
    assert not list(r5f.glob("rproc-virtio.*"))
    assert write_errno(r5f / "state", "detach") == errno.EINVAL
    assert write_errno(r5f / "state", "stop") == errno.EINVAL

    write(r5f / "state", "start")  # rproc_boot of a detached core attaches again
    assert read(r5f, "state") == "attached\n"
    ctrl = next(r5f.glob("rproc-virtio.*/virtio*/virtio*.rpmsg_ctrl.0.0/rpmsg"))
    fd = os.open(emu.root / "dev" / create_ept(emu.root, "after",
                                               ctrl=int(os.listdir(ctrl)[0][10:])), os.O_RDWR)
    os.write(fd, b"back")
    assert os.read(fd, 64) == b"back"
    os.close(fd)


@pytest.mark.board(core={15: {"ipc_only": False}}, firmware={9: "echo", 15: "echo"})
def test_the_board_can_run_the_wakeup_r5f_in_remoteproc_mode(emu) -> None:
    r5f = emu.root / CLASS / "remoteproc1"
    assert read(r5f, "state") == "running\n"
    assert read(r5f, "firmware") == "am62-wkup-r5f0_0-fw\n"
    assert write_errno(r5f / "state", "detach") == errno.EINVAL
    write(r5f / "state", "stop")
    assert read(r5f, "state") == "offline\n"


def test_the_am62x_pru_cores_appear_offline(emu) -> None:
    for index, device, firmware in ((2, "30074000.pru", "am62x-pru0-fw"),
                                    (3, "30078000.pru", "am62x-pru1-fw")):
        rproc = emu.root / CLASS / f"remoteproc{index}"
        assert read(rproc, "name") == f"{device}\n"
        assert read(rproc, "state") == "offline\n"
        assert read(rproc, "firmware") == f"{firmware}\n"
        assert read(rproc, "recovery") == "disabled\n"
        assert os.path.realpath(rproc) == str(
            emu.root / f"sys/devices/platform/bus@f0000/30040000.pruss/{device}"
            f"/remoteproc/remoteproc{index}")
        driver = emu.root / "sys/bus/platform/drivers/pru-rproc" / device
        assert os.path.realpath(driver) == os.path.realpath(rproc / "../..")
        # The firmware is not installed (as on a stock SK): request_firmware fails.
        assert write_errno(rproc / "state", "start") == errno.ENOENT
        assert read(rproc, "state") == "offline\n"


def test_debugfs_files_modes_and_sizes_are_the_boards(emu) -> None:
    debug = emu.root / DEBUG
    assert sorted(os.listdir(debug)) == [f"remoteproc{i}" for i in range(4)]
    expected = {"carveout_memories": 0o400, "coredump": 0o600, "crash": 0o200, "name": 0o400,
                "recovery": 0o600, "resource_table": 0o400, "trace0": 0o400}
    for index in (0, 1):
        files = {e: os.stat(debug / f"remoteproc{index}" / e) for e in
                 os.listdir(debug / f"remoteproc{index}")}
        assert {e: stat.S_IMODE(s.st_mode) for e, s in files.items()} == expected
        assert all(s.st_size == 0 for s in files.values())
    pru = set(os.listdir(debug / "remoteproc2"))
    assert "trace0" not in pru  # no trace resource until it boots
    assert read(debug, "remoteproc2/resource_table") == "No resource table found\n"
    assert read(debug, "remoteproc2/carveout_memories") == ""


def test_debugfs_resource_table_and_carveouts_describe_the_vrings(emu) -> None:
    debug = emu.root / DEBUG / "remoteproc0"
    table = read(debug, "resource_table")
    assert table.startswith("Entry 0 is of type vdev\n  ID 7\n")
    assert "  Status 0x7\n" in table
    assert table.count("    Number of buffers 256\n") == 2
    assert "Entry 1 is of type trace\n" in table and "  Name trace:m4fss0_0\n" in table
    carveouts = read(debug, "carveout_memories")
    assert "\tName: vdev0vring0\n" in carveouts and "\tName: vdev0vring1\n" in carveouts
    assert "\tDevice address: 0x9cb00000\n\tLength: 0x3000 Bytes\n" in carveouts
    write(emu.root / CLASS / "remoteproc0/state", "stop")  # rproc_resource_cleanup
    assert read(debug, "resource_table") == "No resource table found\n"
    assert "trace0" not in os.listdir(debug)


def test_debugfs_crash_takes_an_integer_type_and_cannot_be_read(emu) -> None:
    crash = emu.root / DEBUG / "remoteproc0/crash"
    assert write_errno(crash, "watchdog") == errno.EINVAL  # kstrtouint_from_user
    fd = os.open(crash, os.O_RDWR)  # root may open it: a debugfs file has no kernfs check
    with pytest.raises(OSError) as err:
        os.read(fd, 16)
    assert err.value.errno == errno.EINVAL  # no .read
    os.close(fd)
    write(crash, "7")  # any unsigned type is reported ("unknown")
    assert read(emu.root, f"{CLASS}/remoteproc0/state") == "crashed\n"


@pytest.mark.board(kernel="pre-6.1", firmware={9: "echo", 15: "echo"})
def test_before_5_13_there_is_no_detach(emu) -> None:
    r5f = emu.root / CLASS / "remoteproc1"
    assert read(r5f, "state") == "attached\n"  # IPC-only attach is older (v5.10)
    assert write_errno(r5f / "state", "detach") == errno.EINVAL  # rproc_detach is v5.13
    fd = os.open(emu.root / "dev/remoteproc1", os.O_WRONLY)
    with pytest.raises(OSError) as err:
        os.write(fd, b"detach")
    assert err.value.errno == errno.EINVAL
    os.close(fd)
    assert read(r5f, "state") == "attached\n"
