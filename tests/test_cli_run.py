"""`rpmsg-emu run`: programs with hard-coded /dev and /sys paths, as root (see test_cli_run_user
for an ordinary user). Real namespaces, real mounts, C clients compiled here."""
from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="these run as root; "
                                "test_cli_run_user covers ordinary users")

C_DIR = Path(__file__).parent / "c"
VENV_BIN = Path(sys.executable).parent
RUN = [sys.executable, "-m", "fusedev.cli", "run"]


@pytest.fixture(scope="session")
def c_clients() -> Path:
    """The C clients, built with the system compiler into a directory anyone may read."""
    out = Path(tempfile.mkdtemp(prefix="rpmsg-emu-c-"))
    out.chmod(0o755)
    for source in ("ept_echo.c", "select_two_cores.c"):
        subprocess.run(["gcc", "-Wall", "-O", "-o", str(out / source[:-2]), str(C_DIR / source)],
                       check=True)
    yield out
    for binary in out.iterdir():
        binary.unlink()
    out.rmdir()


def run(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}")
    return subprocess.run([*RUN, *argv], capture_output=True, text=True, timeout=timeout,
                          env=env)


def staging_dirs() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "rpmsg-emu-run.*")))


def test_c_client_creates_echoes_destroys_on_hard_coded_paths(c_clients):
    result = run("--", str(c_clients / "ept_echo"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK rpmsg")


def test_c_client_selects_over_two_cores(c_clients):
    result = run("--", str(c_clients / "select_two_cores"))
    assert (result.returncode, result.stdout) == (0, "OK\n"), result.stderr


def test_the_readme_command():
    result = run("--", "rpmsg_char_simple", "-r", "9", "-n", "3")
    assert result.returncode == 0, result.stderr
    assert "TEST STATUS: PASSED" in result.stdout


def test_other_boards_and_kernels():
    result = run("--board", "j721e", "--kernel", "pre-6.1", "--", "sh", "-c",
                 "cat /sys/devices/soc0/family; ls /sys/bus/platform/devices | grep -c r5f")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "J721E"


def test_host_dev_and_sys_keep_working():
    script = ("cat /dev/null && echo null-ok; echo x > /dev/null && echo write-null-ok; "
              "ls /dev/pts >/dev/null && echo pts-ok; test -d /dev/shm && echo shm-ok; "
              "cat /sys/devices/system/cpu/online; "
              "python3 -c 'import os; print(os.cpu_count())'; "
              "ls /sys/fs/cgroup >/dev/null && echo cgroup-ok; "
              "ls /dev/rpmsg_ctrl0 /sys/class/rpmsg/rpmsg_ctrl0 >/dev/null && echo emulated-ok")
    result = run("--", "sh", "-c", script)
    assert result.returncode == 0, result.stderr
    online = Path("/sys/devices/system/cpu/online").read_text().strip()
    assert result.stdout.splitlines() == [
        "null-ok", "write-null-ok", "pts-ok", "shm-ok", online, str(os.cpu_count()),
        "cgroup-ok", "emulated-ok"]


def test_sysfs_links_stay_relative_and_resolve_under_sys_devices():
    result = run("--", "sh", "-c", "readlink /sys/bus/platform/devices/5000000.m4fss; "
                 "realpath /sys/bus/platform/devices/5000000.m4fss; "
                 "realpath /sys/bus/platform/devices/serial8250 || true")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("../../../devices/platform/")
    assert lines[1].startswith("/sys/devices/platform/") and lines[1].endswith("/5000000.m4fss")


def test_nothing_is_visible_outside():
    assert not os.path.exists("/dev/rpmsg_ctrl0")
    proc = subprocess.Popen([*RUN, "--", "sh", "-c", "ls /dev/rpmsg_ctrl0 && sleep 30"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "/dev/rpmsg_ctrl0\n"
        assert not os.path.exists("/dev/rpmsg_ctrl0")
        assert not os.path.exists("/sys/class/rpmsg")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


@pytest.mark.parametrize("script, status", [
    ("exit 0", 0), ("exit 7", 7), ("kill -TERM $$", 128 + 15), ("kill -KILL $$", 128 + 9)])
def test_exit_status_passes_through(script, status):
    before = staging_dirs()
    assert run("--", "sh", "-c", script).returncode == status
    assert staging_dirs() == before


def test_missing_command():
    result = run("--", "no-such-command-here")
    assert result.returncode == 127
    assert "cannot run no-such-command-here" in result.stderr


def test_no_command_is_a_usage_error():
    result = run()
    assert result.returncode == 2
    assert "run needs a command" in result.stderr


def _start_sleeper() -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([*RUN, "--", "sh", "-c", "echo $$; exec sleep 60"],
                            stdout=subprocess.PIPE, text=True)
    return proc, int(proc.stdout.readline())


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_sigterm_is_passed_to_cmd_and_reported_like_a_shell():
    before = staging_dirs()
    proc, child = _start_sleeper()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 128 + signal.SIGTERM
    assert _gone(child)
    assert staging_dirs() == before


def test_cmd_dies_with_a_killed_emulator():
    before = staging_dirs()
    proc, child = _start_sleeper()
    proc.kill()
    proc.wait(10)
    assert _gone(child)
    for left in staging_dirs() - before:  # SIGKILL leaves its empty directory behind
        os.rmdir(left)
