"""Start a FUSE daemon in its own process for a test, and make sure it is gone afterwards.

The daemon runs in another process so that the test's blocking syscalls are real clients of
a real mount, exactly as a user's program would be.
"""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fusedev.fuse import mountpoint

REPO = Path(__file__).resolve().parent.parent


class DaemonProcess:
    """A daemon serving `mount_dir`; `ready` is a path that exists once it serves."""

    def __init__(self, argv: list[str], mount_dir: Path, ready: str, timeout: float = 20.0
                 ) -> None:
        self.mount_dir = mount_dir
        self.log_path = mount_dir.parent / f"{mount_dir.name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=REPO)
        deadline = time.monotonic() + timeout
        while not os.path.exists(mount_dir / ready):  # False, not ENOTCONN, while stale
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise TimeoutError(f"{mount_dir / ready} did not appear:\n{log}")
            time.sleep(0.02)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def cleanup(self) -> None:
        """Whatever happened in the test: no daemon, no mount left behind."""
        self.stop()
        if str(self.mount_dir) in mountpoint.fuse_mounts() or mountpoint.is_stale(self.mount_dir):
            mountpoint.detach(self.mount_dir)


def make_mount_dir(mount_dir: Path) -> None:
    """Create the directory; a stale mount there is left for the daemon to clear."""
    try:
        mount_dir.mkdir(exist_ok=True)
    except OSError as exc:
        if exc.errno != errno.ENOTCONN:
            raise


def toy_echo(mount_dir: Path) -> DaemonProcess:
    make_mount_dir(mount_dir)
    return DaemonProcess([sys.executable, str(REPO / "tests" / "toy_echo_fs.py"),
                          str(mount_dir)], mount_dir, "echo")


def default_board_daemon(mount_dir: Path, ready: str = "dev/rpmsg_ctrl0") -> DaemonProcess:
    """`rpmsg-emu mount` of the default board (AM62x) in its own process, as for a user."""
    make_mount_dir(mount_dir)
    return DaemonProcess([sys.executable, "-m", "fusedev.cli", "mount", str(mount_dir)],
                         mount_dir, ready)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def cli(*argv: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """`rpmsg-emu ARGV` as a user runs it; its output captured as text."""
    return subprocess.run([sys.executable, "-m", "fusedev.cli", *argv], capture_output=True,
                          text=True, timeout=timeout, **kw)
