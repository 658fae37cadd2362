"""`rpmsg-emu run -- CMD`: CMD sees the emulated board at the real /dev and /sys paths.

This process enters a private mount namespace (plus a user namespace when not root), serves
the emulator's FUSE tree at a private staging directory, and covers /dev and /sys with the
tree's dev/ and sys/. Host entries the emulator does not provide got placeholders in the tree
(host_mirror) and are bind-mounted from saved copies of the original /dev and /sys onto them,
so /dev/null, /dev/pts and /sys/devices/system/cpu keep working. CMD is then run as a child in
that namespace. Nothing is visible outside it, and it vanishes with this process.

One trio loop serves FUSE for everybody, CMD included. So after /dev and /sys are covered, the
loop thread itself must never touch a path there: every mount call runs in a worker thread, and
CMD is spawned without opening anything (stdio is inherited).
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import AsyncIterator, Callable, Protocol

import trio
from kernel_cfg import Board

from fusedev.cli import namespaces
from fusedev.cli.dma_heap_answers import DmaHeapAnswers
from fusedev.cli.host_mirror import Bind, mirror_host
from fusedev.cli.seccomp_filter import Arch
from fusedev.cli.syscall_answers import EmulatedNodes, SyscallAnswers
from fusedev.cli.syscall_supervisor import SyscallSupervisor
from fusedev.fuse.vfs import Directory

log = logging.getLogger(__name__)

SUPERVISOR_FAILED = 125  # as env(1) and chroot(1) exit when they fail themselves
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
TTY_SIGNALS = (signal.SIGINT, signal.SIGQUIT)  # the terminal sends these to CMD itself


class Servable(Protocol):
    """What `run` needs of the emulator (fusedev.cli.emulator.Emulator)."""

    root: Directory
    board: Board

    async def serve(self, mount_dir: Path, *, allow_other: bool = False,
                    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None: ...

    def close(self) -> None: ...

    def proc_devices(self, host_text: str) -> str: ...


class Staging:
    """A private tmpfs holding copies of the host's /dev and /sys and the emulator's mount."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="rpmsg-emu-run."))
        namespaces.mount("rpmsg-emu", self.path, "tmpfs", data="mode=0700")
        self.host_dev = self.path / "host-dev"
        self.host_sys = self.path / "host-sys"
        self.emu = self.path / "emu"
        self.proc_devices = self.path / "proc-devices"
        for directory in (self.host_dev, self.host_sys, self.emu):
            directory.mkdir()
        namespaces.bind("/dev", self.host_dev)
        namespaces.bind("/sys", self.host_sys)

    def cover(self, binds: list[Bind]) -> None:
        """Bind host entries onto their placeholders, then the tree onto /dev and /sys.

        Runs in a worker thread: every path below `self.emu` is answered by the trio loop.
        """
        for item in binds:
            try:
                namespaces.bind(item.source, self.emu / item.target)
            except OSError as exc:
                log.warning("/%s stays an empty placeholder: %s", item.target, exc.strerror)
        namespaces.bind(self.emu / "dev", "/dev")
        namespaces.bind(self.emu / "sys", "/sys")
        try:  # /proc/devices lists the emulated char majors (fs/char_dev.c chrdev_show)
            namespaces.bind(self.proc_devices, "/proc/devices")
        except OSError as exc:
            log.warning("/proc/devices stays the host's: %s", exc.strerror)
        namespaces.detach(self.host_dev)  # the binds above keep what they need
        namespaces.detach(self.host_sys)

    @staticmethod
    def uncover() -> None:
        for path in ("/proc/devices", "/sys", "/dev"):
            try:
                namespaces.detach(path)
            except OSError:  # /proc/devices was not covered
                pass

    def remove(self) -> None:
        namespaces.detach(self.path)
        shutil.rmtree(self.path, ignore_errors=True)


def run(make_emulator: Callable[[], Servable], argv: list[str], *,
        allow_other: bool = False, map_root: bool = False,
        syscall_emulation: bool = True) -> int:
    """Run `argv` against the emulator; its exit status, or 128+N when killed by signal N.

    With `syscall_emulation`, CMD's stat family, getdents64, uname and VFS ioctls are
    supervised (fusedev.cli.syscall_supervisor) so that device nodes are character devices.
    """
    namespaces.enter_private_mount_namespace(map_root)
    staging = Staging()
    try:
        return trio.run(_serve_and_run, make_emulator(), staging, argv, allow_other,
                        syscall_emulation)
    finally:
        staging.remove()


async def _serve_and_run(emu: Servable, staging: Staging, argv: list[str],
                         allow_other: bool, syscall_emulation: bool) -> int:
    binds = mirror_host(emu.root, staging.host_dev, staging.host_sys)
    staging.proc_devices.write_text(emu.proc_devices(_read_host_proc_devices()))
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(emu.serve, staging.emu, allow_other=allow_other))
        try:
            supervisor = None
            if syscall_emulation:
                fuse_dev = (await trio.to_thread.run_sync(os.stat, staging.emu)).st_dev
                supervisor = _supervisor(emu, fuse_dev)
            await trio.to_thread.run_sync(staging.cover, binds)
            log.info("/dev and /sys are the emulated board's; running %s", " ".join(argv))
            return await _run_child(argv, supervisor)
        finally:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(staging.uncover)
            emu.close()


def _read_host_proc_devices() -> str:
    try:
        with open("/proc/devices") as f:
            return f.read()
    except OSError:
        return ""


def _supervisor(emu: Servable, fuse_dev: int) -> SyscallSupervisor:
    profile = emu.board.profile

    def answers(arch: Arch) -> SyscallAnswers:
        nodes = EmulatedNodes(emu.root, fuse_dev)
        return SyscallAnswers(arch, nodes, profile.kernel_release, profile.kernel_version,
                              dma=DmaHeapAnswers(nodes))

    return SyscallSupervisor(answers)


def _child_setup(supervisor: SyscallSupervisor | None) -> None:
    """preexec_fn: die with us; then, when supervised, the syscall filter (last: it traps)."""
    namespaces.set_parent_death_signal(signal.SIGKILL)
    if supervisor is not None:
        supervisor.install_in_child()


async def _run_child(argv: list[str], supervisor: SyscallSupervisor | None) -> int:
    """Spawn CMD, pass on signals, wait; the status the way a shell reports it."""
    with trio.open_signal_receiver(*FORWARDED) as signals:  # before CMD exists: none is lost
        if supervisor is not None:
            supervisor.start()
        try:
            # Popen in this (the loop) thread: it opens nothing, returns once CMD is exec'ed,
            # and the parent-death signal is tied to the thread that forked, which lives on.
            child = subprocess.Popen(argv, preexec_fn=partial(_child_setup, supervisor))
        except (OSError, subprocess.SubprocessError) as exc:
            if supervisor is not None:
                supervisor.stop()
            return _spawn_failed(argv[0], exc)
        if supervisor is not None:
            supervisor.child_started(child.pid)
        pidfd = os.pidfd_open(child.pid)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_forward_signals, signals, child)
                await trio.lowlevel.wait_readable(pidfd)
                nursery.cancel_scope.cancel()
        finally:
            os.close(pidfd)
    status = child.wait()
    if supervisor is not None:
        supervisor.stop()
        if supervisor.error is not None:
            print(f"rpmsg-emu: {supervisor.error}", file=sys.stderr)
            return SUPERVISOR_FAILED
    return 128 - status if status < 0 else status


def _spawn_failed(program: str, exc: BaseException) -> int:
    """One line, and the status a shell gives: 127 not found, 126 not runnable, 125 ours."""
    if isinstance(exc, subprocess.SubprocessError):  # the filter was refused in the child
        print(f"rpmsg-emu: cannot supervise {program}: {exc} "
              "(--no-syscall-emulation runs it unsupervised)", file=sys.stderr)
        return SUPERVISOR_FAILED
    assert isinstance(exc, OSError)
    print(f"rpmsg-emu: cannot run {program}: {exc.strerror}", file=sys.stderr)
    return 127 if isinstance(exc, FileNotFoundError) else 126


async def _forward_signals(signals: AsyncIterator[int], child: subprocess.Popen) -> None:
    async for signum in signals:
        if signum in TTY_SIGNALS and _terminal_signalled_child():
            continue
        log.debug("passing signal %d to %d", signum, child.pid)
        child.send_signal(signum)


def _terminal_signalled_child() -> bool:
    """True when we share the terminal's foreground group with CMD, so it got Ctrl-C too."""
    for fd in (0, 1, 2):
        try:
            return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False
