"""`rpmsg-emu mount` and `umount`: a real mount in another process, used by real clients."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from daemon_process import cli
from fusedev.fuse import mountpoint
from fusedev.cli.pytest_plugin import BoardProcess

VENV_BIN = Path(sys.executable).parent


def test_mount_prints_board_and_usage_and_serves_clients(mount_dir):
    board = BoardProcess(mount_dir, ["--firmware", "15=echo"])
    try:
        out = board.log()
        assert f"rpmsg-emu: serving board am62x at {mount_dir}" in out
        assert "5000000.m4fss" in out and "78000000.r5f" in out
        assert f"rpmsg_char_simple --root {mount_dir} -r 9" in out
        assert f"RPMSG_CHAR_ROOT={mount_dir}" in out
        assert "rpmsg-emu run -- your-program" in out
        assert (mount_dir / "dev" / "rpmsg_ctrl0").exists()
        result = subprocess.run([str(VENV_BIN / "rpmsg_char_simple"), "--root", str(mount_dir),
                                 "-r", "15", "-n", "3"], capture_output=True, text=True,
                                timeout=30)
        assert "TEST STATUS: PASSED" in result.stdout, result.stdout + result.stderr
    finally:
        board.stop()
    assert board.proc.returncode == 0, board.log()
    assert str(mount_dir) not in mountpoint.fuse_mounts()


def test_umount_stops_the_daemon(mount_dir):
    board = BoardProcess(mount_dir, ["--board", "am64x"])
    try:
        result = cli("umount", str(mount_dir))
        assert result.returncode == 0, result.stderr
        board.proc.wait(10)
        assert board.proc.returncode == 0
        assert "rpmsg-emu: unmounted" in board.log()
        assert not (mount_dir / "dev").exists()
    finally:
        board.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signals_unmount_cleanly(mount_dir, sig):
    board = BoardProcess(mount_dir, [])
    try:
        board.proc.send_signal(sig)
        assert board.proc.wait(10) == 0
        assert "Traceback" not in board.log()
        assert str(mount_dir) not in mountpoint.fuse_mounts()
    finally:
        board.stop()


def test_umount_refuses_what_is_not_ours(tmp_path):
    result = cli("umount", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr == f"rpmsg-emu: {tmp_path} is not an rpmsg-emu mount (not mounted)\n"


def test_mount_on_a_missing_directory_is_a_usage_error(tmp_path):
    result = cli("mount", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "is not a directory" in result.stderr


def test_mount_on_a_busy_directory_says_so(mount_dir):
    board = BoardProcess(mount_dir, [])
    try:
        result = cli("mount", str(mount_dir))
        assert result.returncode == 1
        assert "already served by a running FUSE daemon" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        board.stop()


def test_mode_owner_and_kernel_options_reach_the_tree(mount_dir):
    board = BoardProcess(mount_dir, ["--mode", "0640", "--owner", "1234", "--group", "55",
                                     "--kernel", "pre-6.1"])
    try:
        st = os.stat(mount_dir / "dev" / "rpmsg_ctrl0")
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 1234, 55)
        assert "pre-6.1" in board.log()
    finally:
        board.stop()


def test_help_lists_every_command():
    out = cli("--help").stdout
    for command in ("mount", "umount", "run", "trace", "doctor"):
        assert command in out
    assert "--firmware ID=NAME" in cli("mount", "--help").stdout
