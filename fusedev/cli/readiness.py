"""Telling scripts, supervisors and CI that a board is ready, and running it in the background.

"Ready" means what the `rpmsg-emu: serving` banner means: mounted, autostart cores running,
their channels announced. At that moment `mount` tells everyone who asked, in this order:
- `--pidfile FILE`: the daemon's pid, written atomically (rename), removed on exit;
- `--ready-fd N`: one line `READY=1` written to descriptor N, which is then closed (a reader
  sees the line, then EOF; s6-style notification-fd supervisors accept it too);
- systemd: `READY=1` and `MAINPID=` as a datagram to `$NOTIFY_SOCKET` (sd_notify(3)), and
  `STOPPING=1` when a stop begins, so `Type=notify` units work;
- `--daemon`: the parent process, which then exits 0 (see `daemonize`).
"""
from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

log = logging.getLogger(__name__)

READY_LINE = b"READY=1\n"


class Readiness:
    """Everyone to tell once the board is ready, and what to undo on exit."""

    def __init__(self, *, pidfile: Path | None = None, ready_fds: tuple[int, ...] = (),
                 notify_socket: str | None = None) -> None:
        self.pidfile = Path(os.path.abspath(pidfile)) if pidfile is not None else None
        self.ready_fds = list(ready_fds)
        self.notify_socket = notify_socket
        self._wrote_pidfile = False

    @classmethod
    def from_environment(cls, **kw) -> Readiness:
        return cls(notify_socket=os.environ.get("NOTIFY_SOCKET") or None, **kw)

    def ready(self) -> None:
        """The board is usable: tell them all (a failure to tell one is logged, not fatal)."""
        pid = os.getpid()
        if self.pidfile is not None:
            temp = self.pidfile.with_name(f".{self.pidfile.name}.{pid}")
            temp.write_text(f"{pid}\n")
            os.replace(temp, self.pidfile)
            self._wrote_pidfile = True
        self.sd_notify(f"READY=1\nMAINPID={pid}")
        for fd in self.ready_fds:
            try:
                os.write(fd, READY_LINE)
            except OSError as exc:  # the reader went away: nobody to tell
                log.warning("--ready-fd %d: %s", fd, exc.strerror)
            finally:
                os.close(fd)
        self.ready_fds.clear()

    def stopping(self) -> None:
        self.sd_notify("STOPPING=1")

    def close(self) -> None:
        """On exit: remove the pidfile if it still names us (a newer daemon may own it)."""
        if self._wrote_pidfile and self.pidfile is not None:
            try:
                if self.pidfile.read_text().strip() == str(os.getpid()):
                    self.pidfile.unlink()
            except OSError:
                pass

    def sd_notify(self, state: str) -> None:
        """sd_notify(3): one datagram to $NOTIFY_SOCKET; '@' starts an abstract address."""
        if not self.notify_socket:
            return
        address = self.notify_socket
        if address.startswith("@"):
            address = "\0" + address[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(state.encode(), address)
        except OSError as exc:
            log.warning("NOTIFY_SOCKET %s: %s", self.notify_socket, exc.strerror or exc)


def check_ready_fd(fd: int) -> str | None:
    """Why `fd` cannot be a --ready-fd, or None."""
    if fd <= 2:
        return "must not be stdin, stdout or stderr"
    try:
        os.fstat(fd)
    except OSError:
        return "not an open file descriptor"
    return None


def check_writable(path: Path) -> str | None:
    """Why `path` (a pidfile, a log) cannot be written once ready, or None: said before
    anything is mounted."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return "is a directory"
    if not os.path.isdir(directory):
        return f"no directory {directory}"
    if not os.access(directory, os.W_OK):
        return f"cannot write in {directory}"
    return None


def daemonize() -> int:
    """Fork into the background; return (in the child) the fd on which to report readiness.

    The parent waits: it exits 0 when the child reports ready, else with the child's own
    exit status once it has died (its error message is already on the shared stderr). The
    child starts a new session, so the terminal's Ctrl-C and hang-up no longer reach it.
    """
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            line = pipe.readline()
        if line == READY_LINE:
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        os._exit(128 - code if code < 0 else code or 1)
    os.close(read_end)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.close(devnull)
    return write_end


def detach_output(log_file: Path | None = None) -> None:
    """In the background, once ready: let go of the caller's stdout and stderr, so that
    `$(rpmsg-emu mount --daemon DIR)` or a CI step's pipe reaches EOF. What the daemon says
    from then on goes to `log_file` (appended), else nowhere."""
    sys.stdout.flush()
    sys.stderr.flush()
    if log_file is None:
        target = os.open(os.devnull, os.O_WRONLY)
    else:
        target = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    os.dup2(target, 1)
    os.dup2(target, 2)
    os.close(target)
