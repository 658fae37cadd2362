"""The `rpmsg-emu` command: mount, umount, status, run, trace, doctor (docs/cli.md).

Exit status: usage errors and impossible boards 2; `mount`/`umount`/`status`/`trace` failures 1;
`doctor` 1 when the kernel cannot run rpmsg_char (`doctor --self`: when this machine cannot
run rpmsg-emu); `run` passes CMD's status on (128+N when a
signal N killed it) and uses 125 for its own failures, as env(1) and timeout(1) do.
"""
from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

from kernel_cfg import BoardError

from fusedev.cli import board_args

from fusedev.fuse import mountpoint
from fusedev.fuse.binding_load import binding_load_error
from fusedev.cli.firmware_names import check_board_firmware

RUN_FAILED = 125

EPILOG = """examples:
  rpmsg-emu mount /tmp/board            # then: rpmsg_char_simple --root /tmp/board -r 9
  rpmsg-emu mount --daemon /tmp/board   # returns once ready; rpmsg-emu umount /tmp/board stops it
  rpmsg-emu status /tmp/board --json
  rpmsg-emu run -- rpmsg_char_simple -r 9
  rpmsg-emu run --board am64x --firmware 2=echo -- ./my_app
  rpmsg-emu trace /tmp/board --core 9
  rpmsg-emu doctor --config board.config --soc am62x
  rpmsg-emu doctor --self
"""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=0,
                        help="log what happens (-vv: debug details)")
    parser = argparse.ArgumentParser(
        prog="rpmsg-emu", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Emulate the rpmsg devices of a TI K3 board (/dev/rpmsg_ctrlN, /dev/rpmsgN, "
                    "/sys) so that the Linux side of an AMP application runs unmodified on a PC.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("mount", parents=[common], help="serve a board under DIR",
                       description="Serve DIR/dev/rpmsg* and DIR/sys until Ctrl-C, SIGTERM or "
                                   "`rpmsg-emu umount DIR`, then unmount.")
    p.add_argument("dir", type=Path, metavar="DIR", help="an existing directory to mount on")
    board_args.add_board_options(p)
    p.add_argument("--allow-other", action="store_true",
                   help="let other users in (needs user_allow_other in /etc/fuse.conf "
                        "unless root)")
    ready = p.add_argument_group("background use (each reports the moment the board is ready)")
    ready.add_argument("--daemon", action="store_true",
                       help="run in the background; return once the board is ready")
    ready.add_argument("--pidfile", type=Path, metavar="FILE",
                       help="write the daemon's pid to FILE when ready; removed on exit")
    ready.add_argument("--ready-fd", type=int, metavar="N",
                       help="write READY=1 and a newline to descriptor N when ready, close it")
    ready.add_argument("--log", type=Path, metavar="FILE",
                       help="with --daemon: append what it says once ready to FILE "
                            "(default: nowhere)")

    p = sub.add_parser("umount", parents=[common], help="stop an rpmsg-emu mount",
                       description="Stop the `rpmsg-emu mount` daemon serving DIR as SIGTERM "
                                   "does (blocked readers get an error) and unmount DIR.")
    p.add_argument("dir", type=Path, metavar="DIR")

    p = sub.add_parser("status", parents=[common], help="show a mounted board",
                       description="Show the board mounted at DIR: its cores and their states, "
                                   "channels, eptdevs and the processes holding them open.")
    p.add_argument("dir", type=Path, metavar="DIR", help="an `rpmsg-emu mount` directory")
    p.add_argument("--json", action="store_true", help="one JSON object (docs/cli.md)")

    p = sub.add_parser(
        "run", parents=[common], help="run CMD with the board at the real /dev and /sys",
        description="Run CMD in a private mount namespace where the emulated board's nodes are at "
                    "/dev/rpmsg* and /sys, and the host's other /dev and /sys entries still work. "
                    "Needs root, or unprivileged user namespaces. Exits with CMD's status "
                    f"(128+N if signal N killed it; {RUN_FAILED} if rpmsg-emu itself failed).")
    board_args.add_board_options(p)
    p.add_argument("--allow-other", action="store_true",
                   help="let CMD's children that change user reach the nodes too")
    p.add_argument("--map-root", action="store_true",
                   help="as an ordinary user: be root inside (like unshare -r), so root-only "
                        "sysfs writes (remoteproc state, debugfs crash) work")
    p.add_argument("--no-syscall-emulation", dest="syscall_emulation", action="store_false",
                   help="do not supervise CMD's syscalls: device nodes then stat as regular "
                        "files, uname shows the host's kernel (docs/cli.md)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARG ...]",
                   help="the program to run and its arguments")

    p = sub.add_parser("trace", parents=[common], help="show the rpmsg messages of a mount live",
                       description="Print each rpmsg message passing through the board mounted "
                                   "at DIR: time, core, tx (Linux→remote) or rx, src -> dst, "
                                   "[length], payload as hex and text (name-service messages "
                                   "decoded). -w stores them in a capture file, -r shows one "
                                   "again. Ctrl-C stops.")
    p.add_argument("dir", type=Path, metavar="DIR", nargs="?",
                   help="an `rpmsg-emu mount` directory (not with -r)")
    p.add_argument("--core", metavar="NAME_OR_ID",
                   help="only this core: rproc id (9), TI name (M4F_MCU0_0) or device name")
    p.add_argument("--addr", metavar="N",
                   help="only messages from or to address N (decimal or 0x hex)")
    p.add_argument("-t", dest="timestamps", choices=("a", "d", "z"), default="a",
                   help="time column: a absolute (default), d delta to the previous line, "
                        "z since the first line")
    p.add_argument("--full", action="store_true",
                   help="the whole payload (default: its first 32 bytes)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("-w", dest="write", type=Path, metavar="FILE",
                   help="write the messages to a capture FILE instead of showing them")
    p.add_argument("-r", dest="read", type=Path, metavar="FILE",
                   help="show a capture FILE written by -w (no mount needed)")

    p = sub.add_parser("doctor", parents=[common], help="check a kernel config for rpmsg_char",
                       description="Check the running kernel's config (or FILE) for what "
                                   "rpmsg_char needs on a TI K3 board. Exit 0 when it can work, "
                                   "1 when something required is missing (always on a PC). "
                                   "--self checks what rpmsg-emu itself needs instead.")
    p.add_argument("--config", type=Path, metavar="FILE", action="append", default=[],
                   help="a kernel .config, defconfig or config.gz to check; repeat it to add "
                        "fragments (merged in order, later lines win)")
    p.add_argument("--soc", metavar="NAME", help="only the remoteproc drivers this SoC needs")
    p.add_argument("--kernel-version", metavar="X.Y",
                   help="the kernel version, for a defconfig (it has no version header)")
    p.add_argument("--self", dest="self_check", action="store_true",
                   help="check this machine for rpmsg-emu itself: libfuse3, /dev/fuse, "
                        "fusermount3, user namespaces (exit 0 when all work)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="rpmsg-emu: %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](parser, args)
    except BoardError as exc:
        parser.exit(2, f"rpmsg-emu: error: {exc}\n")
    except KeyboardInterrupt:
        return 130
    except ImportError as exc:  # the compiled FUSE binding or its libfuse3
        message = binding_load_error(exc)
        if message is None:
            raise
        print(f"rpmsg-emu: error: {message}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: still one line; -vv shows where
        logging.getLogger("rpmsg-emu").debug("internal error", exc_info=True)
        print(f"rpmsg-emu: internal error: {exc!r} (-vv shows the traceback)", file=sys.stderr)
        return 1


def _version() -> str:
    """The installed distribution's version (a source checkout without metadata says so)."""
    import importlib.metadata  # only for --version: 15-40 ms of imports every mount would pay

    try:
        return importlib.metadata.version("rpmsg-emu")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


class _VersionAction(argparse.Action):
    """argparse's "version" action, with the version looked up only when asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS,
                 help: str = "show program's version number and exit") -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> NoReturn:
        print(f"{parser.prog} {_version()}")
        parser.exit()


def _mount(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from fusedev.cli import readiness
    from fusedev.cli.emulator import Emulator
    from fusedev.cli.foreground import mount

    board = board_args.default_owner_for_user(board_args.board_from_args(args), args)
    check_board_firmware(board)
    if args.ready_fd is not None:
        problem = readiness.check_ready_fd(args.ready_fd)
        if problem:
            _usage_error(parser, f"--ready-fd {args.ready_fd}: {problem}")
    for option, path in (("--pidfile", args.pidfile), ("--log", args.log)):
        problem = None if path is None else readiness.check_writable(path)
        if problem:
            _usage_error(parser, f"{option} {path}: {problem}")
    if args.log is not None and not args.daemon:
        _usage_error(parser, "--log needs --daemon (in the foreground, redirect stderr)")
    try:
        # Clears a mount left by a killed daemon (every access to DIR fails with ENOTCONN
        # until then), so the directory check below sees the directory itself.
        mountpoint.prepare(args.dir)
    except NotADirectoryError:
        _usage_error(parser, f"mount point {args.dir} is not a directory")
    except OSError as exc:
        print(f"rpmsg-emu: cannot serve {args.dir}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    ready_fds = () if args.ready_fd is None else (args.ready_fd,)
    if args.daemon:
        ready_fds += (readiness.daemonize(),)
    notify = readiness.Readiness.from_environment(pidfile=args.pidfile, ready_fds=ready_fds)
    try:
        return mount(Emulator(board), args.dir, allow_other=args.allow_other,
                     readiness=notify, background=args.daemon,
                     log_file=args.log and Path(os.path.abspath(args.log)))
    except BaseException as exc:  # trio wraps errors in exception groups
        oserror = _find_oserror(exc)
        if oserror is None:
            raise
        print(f"rpmsg-emu: cannot serve {args.dir}: {oserror.strerror or oserror}",
              file=sys.stderr)
        return 1


def _umount(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from fusedev.cli.umount_cmd import umount

    try:
        umount(args.dir)
    except mountpoint.NotOurMount as exc:
        print(f"rpmsg-emu: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"rpmsg-emu: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _status(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from fusedev.cli.status_cmd import board_status, format_text

    try:
        status = board_status(args.dir)
    except mountpoint.NotOurMount as exc:
        print(f"rpmsg-emu: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"rpmsg-emu: {exc.filename or args.dir}: {exc.strerror}", file=sys.stderr)
        return 1
    print(json.dumps(status, indent=2) if args.json else format_text(status))
    return 0


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from fusedev.cli.emulator import Emulator
    from fusedev.cli.namespace_run import run
    from fusedev.cli.namespaces import NamespaceError

    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("run needs a command: rpmsg-emu run [options] -- CMD [ARG ...]")
    board = board_args.board_from_args(args)
    check_board_firmware(board)
    if not args.map_root:
        board = board_args.default_owner_for_user(board, args)
    try:
        return run(lambda: Emulator(board), cmd, allow_other=args.allow_other,
                   map_root=args.map_root, syscall_emulation=args.syscall_emulation)
    except NamespaceError as exc:
        print(f"rpmsg-emu: {exc.strerror}", file=sys.stderr)
        return RUN_FAILED
    except BaseException as exc:
        oserror = _find_oserror(exc)
        if oserror is None:
            raise
        print(f"rpmsg-emu: cannot set up the board: {oserror.strerror or oserror}",
              file=sys.stderr)
        return RUN_FAILED


def _trace(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from fusedev.kernel import trace_record
    from fusedev.cli import trace_view

    if (args.dir is None) == (args.read is None):
        parser.error("trace needs DIR (a mount) or -r FILE (a capture), not both")
    if args.read is not None and args.write is not None:
        parser.error("-r and -w exclude each other")
    try:
        trace_view.trace(sys.stdout, mount=args.dir, read=args.read, write=args.write,
                         core=args.core, addr=args.addr, timestamps=args.timestamps,
                         full=args.full, as_json=args.json)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # `rpmsg-emu trace DIR | head`
        sys.stdout = None  # type: ignore[assignment]  # nothing left to flush to
        return 0
    except trace_record.CaptureError as exc:
        print(f"rpmsg-emu: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        in_mount = args.dir is not None and str(exc.filename or "").startswith(str(args.dir))
        hint = (" (is an rpmsg-emu mount there?)"
                if in_mount and exc.errno in (errno.ENOENT, errno.ENOTCONN) else "")
        print(f"rpmsg-emu: {exc.filename or args.dir}: {exc.strerror}{hint}", file=sys.stderr)
        return 2 if args.read is not None else 1
    return 0


def _doctor(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from fusedev.cli.doctor_cmd import doctor
    from kernel_cfg import soc_by_family
    from kernel_cfg.kconfig_file import ConfigFileError

    if args.self_check:
        from fusedev.cli import doctor_self

        if args.config or args.soc or args.kernel_version:
            parser.error("--self checks this machine; it takes no --config, --soc or "
                         "--kernel-version")
        return doctor_self.report(doctor_self.self_checks(), sys.stdout)
    if args.soc is not None:
        try:
            soc_by_family(args.soc)
        except KeyError as exc:
            parser.error(exc.args[0])
    version = None
    if args.kernel_version is not None:
        try:
            major, minor = (int(part) for part in args.kernel_version.split(".")[:2])
        except ValueError:
            parser.error(f"--kernel-version {args.kernel_version!r}: expected X.Y, e.g. 6.6")
        version = (major, minor)
    try:
        return doctor(args.config, args.soc, sys.stdout, version)
    except ConfigFileError as exc:
        parser.error(str(exc))
    except OSError as exc:
        parser.error(f"{exc.filename}: {exc.strerror}")


def _usage_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """Exit 2 with one line, as for an impossible board (argparse's own errors add usage)."""
    parser.exit(2, f"rpmsg-emu: error: {message}\n")


def _find_oserror(exc: BaseException) -> OSError | None:
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _find_oserror(inner)
            if found is not None:
                return found
    return None


COMMANDS = {"mount": _mount, "umount": _umount, "status": _status, "run": _run,
            "trace": _trace, "doctor": _doctor}

if __name__ == "__main__":
    sys.exit(main())
