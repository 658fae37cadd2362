"""`rpmsg-emu run` as an ordinary user, through an unprivileged user namespace.

As root the test makes an unprivileged user (uid 65534) in a child with setuid. If this
machine's /dev/fuse is root-only (some containers), that child first gets, in a private mount
namespace of its own, a /dev/fuse node with the usual crw-rw-rw- — the host stays untouched.
"""
from __future__ import annotations

import ctypes
import os
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from fusedev.cli import namespaces

REPO = Path(__file__).resolve().parent.parent
C_DIR = Path(__file__).parent / "c"
NOBODY = 65534
FUSE_DEVICE = os.makedev(10, 229)


def reachable_by_others(path: str) -> bool:
    """Can a user who is neither owner nor group member run or read `path`?"""
    parts = Path(path).parents
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in parts) and bool(
        os.stat(path).st_mode & stat.S_IROTH)


def interpreter() -> str:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (os.path.realpath(sys.executable), f"/usr/bin/python{version}"):
        if os.path.exists(candidate) and reachable_by_others(candidate):
            return candidate
    pytest.skip(f"no Python {version} that uid {NOBODY} may run: {sys.executable} lives in a "
                "directory closed to others, and /usr/bin has no such version")


@pytest.fixture(scope="module")
def shared_dir():
    """A directory anyone may read: the C client and a node for /dev/fuse live here."""
    path = Path(tempfile.mkdtemp(prefix="rpmsg-emu-user-"))
    path.chmod(0o755)
    (path / "fuse").mkdir()
    subprocess.run(["gcc", "-Wall", "-O", "-o", str(path / "ept_echo"), str(C_DIR / "ept_echo.c")],
                   check=True)
    yield path
    (path / "ept_echo").unlink()
    (path / "fuse").rmdir()
    path.rmdir()


def become_unprivileged(fuse_dir: str) -> None:
    """preexec_fn, as root: a world-usable /dev/fuse (privately, if needed), then uid 65534."""
    if not os.stat("/dev/fuse").st_mode & stat.S_IWOTH:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(namespaces.CLONE_NEWNS) != 0:
            os._exit(99)
        namespaces.mount("none", "/", None, namespaces.MS_REC | namespaces.MS_PRIVATE)
        namespaces.mount("fuse-node", fuse_dir, "tmpfs")
        os.mknod(f"{fuse_dir}/fuse", stat.S_IFCHR | 0o666, FUSE_DEVICE)
        os.chmod(f"{fuse_dir}/fuse", 0o666)
        namespaces.mount(f"{fuse_dir}/fuse", "/dev/fuse", None, namespaces.MS_BIND)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def run_as_user(shared: Path, *argv: str) -> subprocess.CompletedProcess:
    site = sysconfig.get_paths()["purelib"]
    path = os.pathsep.join(filter(None, [str(REPO), site, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path, HOME="/tmp")
    preexec = None
    if os.geteuid() == 0:
        preexec = lambda: become_unprivileged(str(shared / "fuse"))  # noqa: E731
    result = subprocess.run([interpreter(), "-m", "fusedev.cli", "run", *argv],
                            capture_output=True, text=True, timeout=60, env=env, cwd="/",
                            preexec_fn=preexec)
    if result.returncode == 125 and "user namespace" in result.stderr:
        pytest.skip(result.stderr.strip())
    return result


def test_ordinary_user_runs_a_c_client_and_owns_the_nodes(shared_dir):
    result = run_as_user(shared_dir, "--", "sh", "-c",
                         f"id -u; stat -c %u /dev/rpmsg_ctrl0; cat /dev/null && {shared_dir}/ept_echo")
    assert result.returncode == 0, result.stdout + result.stderr
    uid = str(NOBODY if os.geteuid() == 0 else os.geteuid())
    assert result.stdout.splitlines()[:2] == [uid, uid]
    assert result.stdout.splitlines()[2].startswith("OK rpmsg")


def test_map_root_makes_root_only_sysfs_writable(shared_dir):
    result = run_as_user(shared_dir, "--map-root", "--", "sh", "-c",
                         "id -u; echo stop > /sys/class/remoteproc/remoteproc0/state && "
                         "cat /sys/class/remoteproc/remoteproc0/state")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["0", "offline"]


def test_exit_status_passes_through(shared_dir):
    assert run_as_user(shared_dir, "--", "sh", "-c", "exit 9").returncode == 9


def test_refusal_names_the_reason(monkeypatch):
    """What an ordinary user reads where user namespaces are disabled."""
    monkeypatch.setattr(namespaces, "_read_int", lambda path: 0 if "max_user" in path else None)
    text = namespaces.userns_refusal(1)
    assert "user.max_user_namespaces is 0" in text
    assert "Run it as root" in text
