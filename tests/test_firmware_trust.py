"""Firmware loading is safe: a daemon running as root never runs a firmware file that another
user could have written or swapped, and a board's real ELF image gets a clear word.

The user meets it as the kernel shows it: `echo start > state` fails with the errno
(EACCES for an untrusted file, EINVAL for an image that cannot be loaded) and the daemon
logs one line saying why.
"""
from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest

from emulator_thread import EmulatorThread, make_board
from remote_fw import FirmwareImageError, FirmwareUnsafeError, load_firmware
from sysfs_io import write, write_errno

M4F = "sys/class/remoteproc/remoteproc0"  # AM62x id 9
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the ownership rules apply to a daemon running as root")


def firmware_source(marker: Path) -> str:
    """A firmware whose very import leaves a mark, so a test sees whether it was executed."""
    return f"open({str(marker)!r}, 'w').close()\n\nasync def main(ctx):\n    pass\n"


@pytest.fixture
def fw_board(tmp_path: Path):
    """board(fw_dir) → the root of a mounted AM62x whose firmware files come from fw_dir."""
    running: list[EmulatorThread] = []

    def start(fw_dir: Path) -> Path:
        root = tmp_path / f"board{len(running)}"
        root.mkdir()
        board = make_board("am62x", firmware={9: "echo", 15: "echo"}, firmware_dirs=[str(fw_dir)])
        running.append(EmulatorThread(board, root))
        return root

    yield start
    for emu in running:
        emu.stop()


def boot(root: Path, firmware: str) -> int:
    """stop the M4F, name the firmware, start it: the errno of the start (0 = it runs)."""
    write(root / M4F / "state", "stop")
    write(root / M4F / "firmware", firmware)
    return write_errno(root / M4F / "state", "start")


@as_root
def test_a_world_writable_firmware_directory_is_refused_as_root(tmp_path, fw_board, caplog) -> None:
    fw_dir = tmp_path / "fw"
    fw_dir.mkdir()
    marker = tmp_path / "executed"
    (fw_dir / "my-fw.py").write_text(firmware_source(marker))
    fw_dir.chmod(0o777)  # any user may drop or replace files here
    root = fw_board(fw_dir)
    with caplog.at_level(logging.WARNING):
        assert boot(root, "my-fw") == errno.EACCES
    assert not marker.exists()
    assert (root / M4F / "state").read_text() == "offline\n"
    lines = [r.getMessage() for r in caplog.records if "my-fw" in r.getMessage()]
    assert lines and all("\n" not in line for line in lines)
    assert any(f"{fw_dir} is writable by others (mode 0777)" in line for line in lines)

    fw_dir.chmod(0o755)  # fixed: the same firmware now boots
    write(root / M4F / "state", "start")
    assert marker.exists()


@as_root
@pytest.mark.parametrize("what, change", [
    ("the file is group-writable", lambda fw_dir, f: f.chmod(0o664)),
    ("the file belongs to another user", lambda fw_dir, f: os.chown(f, 4321, 0)),
    ("a directory above is world-writable", lambda fw_dir, f: fw_dir.parent.chmod(0o777)),
    ("a directory above belongs to another user", lambda fw_dir, f: os.chown(fw_dir.parent, 4321, 0)),
])
def test_every_writer_up_to_the_root_counts(tmp_path, what, change) -> None:
    fw_dir = tmp_path / "above" / "fw"
    fw_dir.mkdir(parents=True)
    marker = tmp_path / "executed"
    fw = fw_dir / "my-fw.py"
    fw.write_text(firmware_source(marker))
    change(fw_dir, fw)
    with pytest.raises(FirmwareUnsafeError) as info:
        load_firmware("my-fw", [fw_dir])
    assert info.value.errno == errno.EACCES, what
    assert not marker.exists()


@as_root
def test_a_sticky_shared_directory_above_is_safe(tmp_path) -> None:
    """Like /tmp: others may create entries there but cannot replace root's."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    fw_dir = shared / "fw"
    fw_dir.mkdir()
    (fw_dir / "my-fw.py").write_text(firmware_source(tmp_path / "executed"))
    assert load_firmware("my-fw", [fw_dir]).origin == str(fw_dir / "my-fw.py")


def test_a_hard_link_to_a_file_outside_is_refused(tmp_path, fw_board) -> None:
    fw_dir, outside = tmp_path / "fw", tmp_path / "outside"
    fw_dir.mkdir()
    outside.mkdir()
    marker = tmp_path / "executed"
    (outside / "theirs.py").write_text(firmware_source(marker))
    os.link(outside / "theirs.py", fw_dir / "linked.py")
    root = fw_board(fw_dir)
    assert boot(root, "linked") == errno.EACCES
    assert not marker.exists()
    with pytest.raises(FirmwareUnsafeError, match="2 hard links"):
        load_firmware("linked", [fw_dir])


def test_a_real_elf_image_is_refused_with_a_pointer_to_the_docs(tmp_path, fw_board, caplog) -> None:
    fw_dir = tmp_path / "fw"
    fw_dir.mkdir()
    # The start of an ARM ELF executable, as /lib/firmware/my-m4f-fw.elf is on a board.
    (fw_dir / "my-m4f-fw.elf").write_bytes(b"\x7fELF\x01\x01\x01" + bytes(9) + b"\x02\x00\x28\x00"
                                                 + bytes(200))
    with pytest.raises(FirmwareImageError) as info:
        load_firmware("my-m4f-fw.elf", [fw_dir])
    assert info.value.errno == errno.EINVAL
    message = str(info.value)
    assert "is an ELF image" in message and "Python" in message and "docs/firmware.md" in message

    root = fw_board(fw_dir)
    with caplog.at_level(logging.WARNING):
        assert boot(root, "my-m4f-fw.elf") == errno.EINVAL
    assert any("is an ELF image" in r.getMessage() and "\n" not in r.getMessage()
               for r in caplog.records)
