"""`rpmsg-emu run` at the syscall boundary: the board's nodes are character devices.

Under `run`, CMD's stat family, getdents64, uname and the VFS-answered ioctls go through the
seccomp supervisor (fusedev/cli/syscall_supervisor.py), so a program that checks `S_ISCHR`,
compares `st_rdev` with sysfs or reads `uname -r` takes the path it takes on the board. C
clients with hard-coded paths, dynamic and static (LD_PRELOAD could not reach the latter),
a forking multi-threaded one, one killed in the middle of its calls, and Python.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from kernel_cfg.kernel_profile import PROFILES

from test_cli_run_user import run_as_user

C_DIR = Path(__file__).parent / "c"
VENV_BIN = Path(sys.executable).parent
RUN = [sys.executable, "-m", "fusedev.cli", "run"]
TI_RELEASE = PROFILES["ti-6.x"].kernel_release

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="as root; the ordinary user's run "
                                "is the last test, through an unprivileged user namespace")


@pytest.fixture(scope="module")
def clients() -> Path:
    """char_nodes (dynamic, and static where the toolchain has libc.a), char_nodes_threads."""
    out = Path(tempfile.mkdtemp(prefix="rpmsg-emu-sys-"))
    out.chmod(0o755)
    (out / "fuse").mkdir()  # where run_as_user may make a private /dev/fuse node
    cc = ["gcc", "-Wall", "-Wextra", "-Werror", "-O2"]
    subprocess.run([*cc, "-o", str(out / "char_nodes"), str(C_DIR / "char_nodes.c")],
                   check=True)
    subprocess.run([*cc, "-pthread", "-o", str(out / "char_nodes_threads"),
                    str(C_DIR / "char_nodes_threads.c")], check=True)
    subprocess.run([*cc, "-static", "-o", str(out / "char_nodes_static"),
                    str(C_DIR / "char_nodes.c")], capture_output=True)
    yield out
    (out / "fuse").rmdir()
    for binary in out.iterdir():
        binary.unlink()
    out.rmdir()


def run(*argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}")
    return subprocess.run([*RUN, *argv], capture_output=True, text=True, timeout=60, env=env)


def test_dynamic_c_client_sees_character_devices_and_the_boards_kernel(clients):
    result = run("--", str(clients / "char_nodes"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split("\n")[:2] == [f"release {TI_RELEASE}", "OK"]


def test_static_c_client_too(clients):
    static = clients / "char_nodes_static"
    if not static.exists():
        pytest.skip("gcc -static failed here: no static libc (libc6-dev ships libc.a)")
    result = run("--", str(static))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"release {TI_RELEASE}\n")


def test_uname_follows_the_kernel_profile():
    for name, profile in PROFILES.items():
        result = run("--kernel", name, "--", "uname", "-r", "-v", "-m")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == (f"{profile.kernel_release} {profile.kernel_version} "
                                         f"{os.uname().machine}")


def test_python_sees_what_c_sees():
    script = (
        "import errno, fcntl, os, stat, termios\n"
        "st = os.stat('/dev/rpmsg0')\n"
        "print(stat.S_ISCHR(st.st_mode), f'{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}',\n"
        "      open('/sys/class/rpmsg/rpmsg0/dev').read().strip())\n"
        "print(os.uname().release)\n"
        "print(sorted(e.name for e in os.scandir('/dev')\n"
        "             if e.name.startswith('rpmsg_ctrl') and not e.is_file(follow_symlinks=False)))\n"
        "fd = os.open('/dev/rpmsg0', os.O_RDWR)\n"
        "try:\n"
        "    fcntl.ioctl(fd, termios.FIONREAD, bytes(4))\n"
        "except OSError as exc:\n"
        "    print(errno.errorcode[exc.errno])\n")
    result = run("--", sys.executable, "-c", script)
    assert result.returncode == 0, result.stderr
    chr_line, release, ctrls, fionread = result.stdout.splitlines()
    is_chr, rdev, sysfs_dev = chr_line.split()
    assert (is_chr, rdev) == ("True", sysfs_dev)
    assert release == TI_RELEASE
    assert ctrls == "['rpmsg_ctrl0', 'rpmsg_ctrl1']"
    assert fionread == "EINVAL"


def test_host_nodes_keep_their_own_type():
    result = run("--", "sh", "-c", "stat -c %F /dev/null; ls -l /dev | grep ' null$' | cut -c1")
    assert result.stdout.split("\n")[:2] == ["character special file", "c"], result.stderr


def test_threads_and_forked_children_are_covered(clients):
    result = run("--", str(clients / "char_nodes_threads"))
    assert (result.returncode, result.stdout) == (0, "OK\n"), result.stderr


def test_a_client_killed_mid_call_leaves_the_supervisor_serving(clients):
    script = (f"{clients}/char_nodes_threads forever & sleep 0.5; kill -9 $!; wait; "
              f"{clients}/char_nodes")
    result = run("--", "sh", "-c", script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.endswith("OK\n")


def test_without_syscall_emulation_nodes_stat_as_regular_files(clients):
    result = run("--no-syscall-emulation", "--", "sh", "-c",
                 "stat -c %F /dev/rpmsg_ctrl0; uname -r")
    assert result.returncode == 0, result.stderr
    kind, release = result.stdout.split("\n")[:2]
    assert kind == "regular empty file"
    assert release == os.uname().release


def test_an_ordinary_user_is_supervised_too(clients):
    result = run_as_user(clients, "--", str(clients / "char_nodes"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.endswith("OK\n")
