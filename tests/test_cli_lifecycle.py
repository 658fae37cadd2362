"""The lifecycle of `rpmsg-emu mount` at its edges, with the real daemon in its own process:
killed with SIGKILL and mounted again, stopped while a reader is blocked, stopped while it
boots, and every invalid board or option refused in one line with exit status 2."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blocked_read import BlockedRead
from daemon_process import cli
from fusedev.fuse import mountpoint
from fusedev.cli.pytest_plugin import BoardProcess


def test_mount_again_on_the_directory_a_sigkilled_daemon_left(mount_dir, tmp_path):
    pidfile = tmp_path / "pid"
    first = cli("mount", "--daemon", "--pidfile", str(pidfile), str(mount_dir))
    assert first.returncode == 0, first.stderr
    os.kill(int(pidfile.read_text()), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not mountpoint.is_stale(mount_dir):  # the kernel ends the connection on exit
        assert time.monotonic() < deadline, "the killed daemon's mount never went stale"
        time.sleep(0.05)
    with pytest.raises(OSError) as stale:
        os.listdir(mount_dir)
    assert stale.value.errno == errno.ENOTCONN

    again = cli("mount", "--daemon", "--pidfile", str(pidfile), str(mount_dir))
    try:
        assert again.returncode == 0, again.stderr
        assert "clearing a mount left by a daemon that is gone" in again.stderr
        assert "Traceback" not in again.stderr
        assert (mount_dir / "dev" / "rpmsg_ctrl0").exists()
    finally:
        assert cli("umount", str(mount_dir)).returncode == 0
    assert str(mount_dir) not in mountpoint.fuse_mounts()


@pytest.mark.parametrize("how", ["umount", "SIGTERM"])
def test_stopping_with_a_blocked_reader_ends_the_daemon_and_the_read(mount_dir, how):
    board = BoardProcess(mount_dir, [])
    try:
        fd = os.open(mount_dir / "dev" / "rpmsg0", os.O_RDWR)  # echo on the M4F: no message
        reader = BlockedRead(fd)
        if how == "umount":
            result = cli("umount", str(mount_dir))
            assert result.returncode == 0, result.stderr
        else:
            board.proc.send_signal(signal.SIGTERM)
        assert board.proc.wait(20) == 0, board.log()
        # The daemon stops the cores, then ends its FUSE session. The reader gets EPIPE when
        # the eptdev's removal reaches it first (rpmsg_eptdev_read() on a board whose remote
        # processor stops), else ECONNABORTED: the kernel fails what is still pending when
        # the connection ends (fs/fuse/dev.c, end_requests() from fuse_abort_conn()).
        # Either way it learns that the board is gone instead of hanging.
        assert reader.wait().errno in (errno.EPIPE, errno.ECONNABORTED)
        try:
            os.close(fd)
        except OSError as exc:  # the descriptor is freed; its flush found no daemon
            assert exc.errno == errno.ENOTCONN
        assert str(mount_dir) not in mountpoint.fuse_mounts()
        assert "Traceback" not in board.log()
    finally:
        board.stop()


CHATTY_FIRMWARE = '''
async def main(ctx):
    """Talks to an address nobody has, every millisecond: the boot never settles early."""
    ep = ctx.create_endpoint(40)
    while True:
        await ep.send(3000, b"tick")
        await ctx.sleep(0.001)
'''


def test_sigterm_while_the_board_boots_stops_it_at_once(mount_dir, tmp_path):
    firmware_dir = tmp_path / "fw"
    firmware_dir.mkdir()
    (firmware_dir / "chatty.py").write_text(CHATTY_FIRMWARE)
    board_file = tmp_path / "chatty.toml"
    board_file.write_text(f'soc = "am62x"\nfirmware_dirs = ["{firmware_dir}"]\n'
                          '[cores.9]\nfirmware = "chatty"\n')
    ready_read, ready_write = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "fusedev.cli", "mount", str(mount_dir),
                             "--board", str(board_file), "--ready-fd", str(ready_write)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            pass_fds=(ready_write,))
    os.close(ready_write)
    try:
        deadline = time.monotonic() + 30
        while str(mount_dir) not in mountpoint.fuse_mounts():  # mounted, still booting
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        with os.fdopen(ready_read, "rb") as ready:
            assert ready.read() == b""  # never reported ready
        assert proc.returncode == 0
        assert "rpmsg-emu: serving" not in out.decode()
        assert "Traceback" not in out.decode()
        assert str(mount_dir) not in mountpoint.fuse_mounts()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _deep_toml(path: Path) -> str:
    path.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    return str(path)


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize("make_argv, message", [
    (lambda d: ["--firmware", "9=no-such-fw"],
     "'no-such-fw' is not built in, not a plugin (the board has no firmware_dirs); "
     "available: "),
    (lambda d: ["--owner", "4294967296"], "--owner: 4294967296: a numeric id from 0 to "),
    (lambda d: ["--group", "4294967295"], "--group: 4294967295: a numeric id from 0 to "),
    (lambda d: ["--board", "/dev/zero"], "/dev/zero: not a regular file"),
    (lambda d: ["--board", _fifo(d / "board.fifo")], "board.fifo: not a regular file"),
    (lambda d: ["--board", _deep_toml(d / "deep.toml")],
     "deep.toml: not valid TOML: nested too deeply"),
    (lambda d: ["--ready-fd", "99"], "--ready-fd 99: not an open file descriptor"),
    (lambda d: ["--ready-fd", "1"], "--ready-fd 1: must not be stdin, stdout or stderr"),
    (lambda d: ["--pidfile", str(d / "missing" / "pid")], "missing/pid: no directory "),
])
def test_an_invalid_board_or_option_is_one_line_and_status_2(mount_dir, tmp_path, make_argv,
                                                              message):
    result = cli("mount", str(mount_dir), *make_argv(tmp_path), timeout=30)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert str(mount_dir) not in mountpoint.fuse_mounts()


def test_status_and_umount_of_what_is_not_a_mount_say_so_in_one_line(tmp_path):
    for command in ("status", "umount"):
        result = cli(command, str(tmp_path))
        assert result.returncode == 1
        assert result.stderr == f"rpmsg-emu: {tmp_path} is not an rpmsg-emu mount (not mounted)\n"
