"""`rpmsg-emu doctor --self`: can the emulator itself work on this machine?

What it needs is not a board's kernel but: the FUSE binding and the libfuse3 it links
(`mount`, `run`), a usable /dev/fuse, fusermount3 to mount as an ordinary user (libfuse's
fuse_session_mount falls back to it without CAP_SYS_ADMIN), and, for `run` as an ordinary
user, an unprivileged user namespace (fusedev/cli/namespaces.py). Each is tried for real.
"""
from __future__ import annotations

import ctypes
import errno
import importlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from fusedev.cli.namespaces import CLONE_NEWUSER, userns_refusal

BINDING = "fusedev.fuse._fuse_cffi"


@dataclass(frozen=True)
class Check:
    """One requirement: met or not, what it serves, and what was found."""

    name: str
    ok: bool
    serves: str
    detail: str


def check_binding() -> Check:
    serves = "mount, run"
    try:
        importlib.import_module(BINDING)
    except ImportError as exc:
        return Check("libfuse3", False, serves, f"the FUSE binding {BINDING} does not load: "
                     f"{exc} (install the fuse3 package; in a checkout run scripts/setup.sh)")
    return Check("libfuse3", True, serves, f"{BINDING} and the libfuse3 it links load")


def check_dev_fuse(path: Path = Path("/dev/fuse")) -> Check:
    serves = "mount, run"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        hint = {errno.ENOENT: "no FUSE in this kernel or container (modprobe fuse; "
                              "docker run --device /dev/fuse)",
                errno.EACCES: "not read-writable for you (fuse3 packages make it 0666)",
                errno.EPERM: "refused (a container's device cgroup?)"}.get(exc.errno, "")
        return Check(str(path), False, serves,
                     f"cannot be opened read-write: {exc.strerror}" + (f"; {hint}" if hint else ""))
    os.close(fd)
    return Check(str(path), True, serves, "opens read-write")


def check_fusermount() -> Check:
    serves = "mount as an ordinary user"
    if os.geteuid() == 0:
        return Check("fusermount3", True, serves, "not needed: running as root")
    path = shutil.which("fusermount3")
    if path is None:
        return Check("fusermount3", False, serves, "not found in PATH (install fuse3)")
    st = os.stat(path)
    if not (st.st_mode & stat.S_ISUID and st.st_uid == 0):
        return Check("fusermount3", False, serves, f"{path} is not setuid root")
    return Check("fusermount3", True, serves, f"{path}, setuid root")


def check_user_namespace() -> Check:
    """Try it: a child process unshares a user namespace and reports the errno."""
    serves = "run as an ordinary user"
    if os.geteuid() == 0:
        return Check("user namespaces", True, serves, "not needed: running as root")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only reports
        libc = ctypes.CDLL(None, use_errno=True)
        os._exit(0 if libc.unshare(CLONE_NEWUSER) == 0 else ctypes.get_errno() or 1)
    _, status = os.waitpid(pid, 0)
    err = os.waitstatus_to_exitcode(status)
    if err == 0:
        return Check("user namespaces", True, serves, "an unprivileged user namespace "
                     "can be created")
    return Check("user namespaces", False, serves, userns_refusal(err))


def self_checks(dev_fuse: Path = Path("/dev/fuse")) -> list[Check]:
    return [check_binding(), check_dev_fuse(dev_fuse), check_fusermount(),
            check_user_namespace()]


def report(checks: list[Check], out: TextIO) -> int:
    """Print the checks; 0 when every one passed, 1 otherwise."""
    uname = os.uname()
    out.write(f"rpmsg-emu on this machine ({uname.machine}, Linux {uname.release}):\n")
    for c in checks:
        out.write(f"  {'ok' if c.ok else 'FAILED':<8} {c.name} ({c.serves}): {c.detail}\n")
    failed = [c for c in checks if not c.ok]
    if not failed:
        out.write("Result: OK, rpmsg-emu mount and run can work here\n")
        return 0
    out.write("Result: NOT OK: " + "; ".join(f"{c.name} is needed for {c.serves}"
                                              for c in failed) + "\n")
    return 1
