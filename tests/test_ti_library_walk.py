"""A C client doing TI's library walk finds, creates, echoes through and destroys endpoints.

The walk is TI's (reference ti-rpmsg-char §4.3-4.4): if the emulated sysfs differed from a
real kernel's in any way the library relies on, these runs would fail.
"""
from __future__ import annotations

import os
import select
import subprocess
from pathlib import Path

import pytest

from c_clients import compile_client
from emulator_thread import EmulatorThread, make_board
from rpmsg_ioctl import create_ept

CASES = [  # (soc, kernel profile, rproc id, platform device)
    ("am62x", "ti-6.x", 9, "5000000.m4fss"),
    ("am62x", "ti-6.x", 15, "78000000.r5f"),
    ("j721e", "ti-6.x", 2, "5c00000.r5f"),
    ("am64x", "ti-6.x", 2, "78000000.r5f"),
    ("am64x", "ti-6.x", 9, "5000000.m4fss"),
    ("am62x", "pre-6.1", 9, "5000000.m4fss"),
    ("am62x", "pre-6.1", 15, "78000000.r5f"),
]


@pytest.fixture(scope="session")
def walker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_client("ti_walk_echo", tmp_path_factory.mktemp("c"))


@pytest.mark.parametrize("soc,kernel,rproc_id,device", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_ti_walk_create_echo_destroy(tmp_path: Path, walker: Path, soc: str, kernel: str,
                                     rproc_id: int, device: str) -> None:
    root = tmp_path / "board"
    root.mkdir()
    emu = EmulatorThread(make_board(soc, kernel, {rproc_id: "echo"}), root)
    try:
        before = sorted(os.listdir(root / "dev"))
        run = subprocess.run([str(walker), str(root), device, "rpmsg_chrdev", "14", "20"],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert f"family {soc.upper()}" in run.stdout
        assert "echoed 20" in run.stdout
        assert sorted(os.listdir(root / "dev")) == before  # DESTROY took the node away
    finally:
        emu.stop()


def test_pre_6_1_layout_has_vdev0buffer_and_ctrl_under_the_channel(tmp_path: Path) -> None:
    root = tmp_path / "board"
    root.mkdir()
    emu = EmulatorThread(make_board("am62x", "pre-6.1", {9: "echo"}), root)
    try:
        rproc = root / "sys/class/remoteproc/remoteproc0"
        virtio = rproc / "remoteproc0#vdev0buffer/virtio0"
        assert virtio.is_dir()
        assert os.listdir(virtio / "virtio0.rpmsg_chrdev.-1.14/rpmsg") == ["rpmsg_ctrl0"]
        assert not (virtio / "virtio0.rpmsg_ctrl.0.0").exists()
        assert not (virtio / "virtio0.rpmsg_ns.53.53").exists()  # NS device came in 5.11
    finally:
        emu.stop()


def test_select_over_endpoints_on_two_cores(emu) -> None:
    m4f = os.open(emu.root / "dev" / create_ept(emu.root, "on-m4f", ctrl=0), os.O_RDWR)
    r5f = os.open(emu.root / "dev" / create_ept(emu.root, "on-r5f", ctrl=1), os.O_RDWR)
    assert select.select([m4f, r5f], [], [], 0.2)[0] == []
    os.write(r5f, b"to the R5F")
    ready, _, _ = select.select([m4f, r5f], [], [], 5)
    assert ready == [r5f]
    assert os.read(r5f, 496) == b"to the R5F"
    os.write(m4f, b"to the M4F")
    ready, _, _ = select.select([m4f, r5f], [], [], 5)
    assert ready == [m4f]
    assert os.read(m4f, 496) == b"to the M4F"
    os.close(m4f)
    os.close(r5f)
