"""`rpmsg-emu mount` for scripts, CI and supervisors: `--daemon` + `status` + `umount`,
`--ready-fd`, and sd_notify to a socket made here, as systemd would make it."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


from daemon_process import alive, cli
from fusedev.fuse import mountpoint


def test_daemon_then_status_then_umount(mount_dir, tmp_path):
    pidfile = tmp_path / "rpmsg-emu.pid"
    # capture_output: returning at all shows that the daemon let go of our pipes.
    log = tmp_path / "daemon.log"
    started = cli("mount", "--daemon", "--pidfile", str(pidfile), "--log", str(log),
                  str(mount_dir), "--firmware", "15=echo")
    assert started.returncode == 0, started.stderr
    assert f"rpmsg-emu: serving board am62x at {mount_dir}" in started.stdout
    pid = int(pidfile.read_text())
    assert alive(pid) and pid != os.getpid()
    try:
        fd = os.open(mount_dir / "dev" / "rpmsg0", os.O_RDWR)
        try:
            status = cli("status", "--json", str(mount_dir))
            text = cli("status", str(mount_dir))
        finally:
            os.close(fd)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["root"] == str(mount_dir)
        assert report["daemon"] == {"pid": pid, "board": "am62x"}
        assert report["soc"]["family"] == "AM62X"
        cores = {c["rproc_id"]: c for c in report["cores"]}
        assert cores[9]["ti_name"] == "M4F_MCU0_0" and cores[9]["state"] == "running"
        assert cores[9]["device"] == "5000000.m4fss"
        m4f = cores[9]["remoteproc"]
        assert any(ch["name"] == "ti.ipc4.ping-pong" and ch["dst"] == 13
                   for ch in report["channels"] if ch["remoteproc"] == m4f)
        eptdev = next(e for e in report["eptdevs"] if e["dev"] == "rpmsg0")
        assert eptdev["node"] == str(mount_dir / "dev" / "rpmsg0")
        assert eptdev["name"] == "rpmsg_chrdev" and eptdev["dst"] == 14
        assert {"pid": os.getpid(), "command": Path(f"/proc/{os.getpid()}/comm")
                .read_text().strip()} in eptdev["holders"]
        assert all(not e["holders"] for e in report["eptdevs"] if e["dev"] != "rpmsg0")
        assert [c["dev"] for c in report["ctrls"]] == ["rpmsg_ctrl0", "rpmsg_ctrl1"]
        assert text.returncode == 0
        assert f"daemon pid {pid}" in text.stdout
        assert f"held by {os.getpid()} (" in text.stdout
    finally:
        stopped = cli("umount", str(mount_dir))
    assert stopped.returncode == 0, stopped.stderr
    deadline = time.monotonic() + 20
    while alive(pid):
        assert time.monotonic() < deadline, "the daemon outlived umount"
        time.sleep(0.05)
    assert not pidfile.exists()
    assert str(mount_dir) not in mountpoint.fuse_mounts()
    assert log.read_text() == f"rpmsg-emu: unmounted {mount_dir}\n"  # said after ready


def test_daemon_that_cannot_start_returns_its_error(tmp_path):
    busy = tmp_path / "not-a-dir"
    busy.write_text("")
    result = cli("mount", "--daemon", str(busy))
    assert result.returncode == 2
    assert "is not a directory" in result.stderr and "Traceback" not in result.stderr


def test_log_without_daemon_is_a_usage_error(mount_dir, tmp_path):
    result = cli("mount", "--log", str(tmp_path / "log"), str(mount_dir))
    assert (result.returncode, result.stderr) == (
        2, "rpmsg-emu: error: --log needs --daemon (in the foreground, redirect stderr)\n")


def test_ready_fd_reports_once_the_board_is_usable(mount_dir):
    ready_read, ready_write = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "fusedev.cli", "mount", str(mount_dir),
                             "--ready-fd", str(ready_write)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, pass_fds=(ready_write,))
    os.close(ready_write)
    try:
        with os.fdopen(ready_read, "rb") as ready:
            assert ready.readline() == b"READY=1\n"
            assert (mount_dir / "dev" / "rpmsg0").exists()  # channels already announced
            assert ready.read() == b""  # and the daemon closed it
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_sd_notify_ready_and_stopping(mount_dir, tmp_path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(tmp_path / "notify"))
        notify.settimeout(30)
        env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"))
        proc = subprocess.Popen([sys.executable, "-m", "fusedev.cli", "mount", str(mount_dir)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            message = notify.recv(4096).decode()
            assert message == f"READY=1\nMAINPID={proc.pid}"
            assert (mount_dir / "dev" / "rpmsg_ctrl0").exists()
            proc.send_signal(signal.SIGTERM)
            assert notify.recv(4096) == b"STOPPING=1"
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
