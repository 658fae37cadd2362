"""What both examples share: TI's options, a clean SIGTERM and Ctrl-C, and opening the endpoint the TI way."""

import argparse
import os
import signal
import sys
from typing import Callable

from ..errors import RpmsgCharError
from ..rproc_id import RPROC_ID_MAX
from ..ti_api import rpmsg_char_close, rpmsg_char_exit, rpmsg_char_init, rpmsg_char_open
from ..endpoint import Endpoint
from ..uapi import RPMSG_ADDR_ANY

INTERRUPTED = 128 + signal.SIGINT
"""The exit status after Ctrl-C, as the shell reports a program that SIGINT killed."""


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """TI's -r -n -p -d -l, plus --root and --timeout. Numbers may be decimal or 0x-hex."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("-r", dest="rproc_id", type=parse_int, default=0, help="rproc id (default 0)")
    p.add_argument("-n", dest="num_msgs", type=parse_int, default=100, help="number of messages (default 100)")
    p.add_argument("-p", dest="remote_endpt", type=parse_int, default=14, help="remote endpoint (default 14)")
    p.add_argument("-d", dest="dev_name", default=None, help="rpmsg channel name (default rpmsg_chrdev)")
    p.add_argument("-l", dest="local_endpt", type=parse_int, default=RPMSG_ADDR_ANY,
                   help="local endpoint (default: any)")
    p.add_argument("--root", default=None, help="tree holding sys/ and dev/ (default $RPMSG_CHAR_ROOT or /)")
    p.add_argument("--timeout", type=float, default=5.0,
                   help="seconds to wait for each reply; 0 waits forever (default 5)")
    return p


def check_common(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not 0 <= args.rproc_id < RPROC_ID_MAX:
        p.error(f"rproc id must be 0..{RPROC_ID_MAX - 1}")
    if args.num_msgs < 1:
        p.error("the number of messages must be at least 1")


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks and atexit destroy the endpoint (TI's handler)."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))


def open_endpoint(args: argparse.Namespace) -> Endpoint | None:
    """init + open with TI's endpoint name; prints TI's failure lines and returns None on failure."""
    try:
        rpmsg_char_init(None, args.root)
    except RpmsgCharError as exc:
        print(f"rpmsg_char_init failed: {exc}", file=sys.stderr)
        return None
    name = f"rpmsg-char-{args.rproc_id}-{os.getpid()}"
    try:
        dev = rpmsg_char_open(args.rproc_id, args.dev_name, args.local_endpt, args.remote_endpt, name, 0)
    except RpmsgCharError as exc:
        print(f"Can't create an endpoint device: {exc}", file=sys.stderr)
        return None
    print(f"Created endpt device {dev.name}, fd = {dev.fd} port = {dev.endpt}")
    return dev


def reply_timeout(args: argparse.Namespace) -> float | None:
    return args.timeout if args.timeout > 0 else None


def parse_int(text: str) -> int:
    """An integer option: decimal, or 0x-hex for addresses."""
    return int(text, 0)


def run_session(args: argparse.Namespace, work: Callable[[Endpoint, argparse.Namespace], bool]
                ) -> int:
    """Open the endpoint, do `work`, close, print TI's status line; 0 only if all went well.

    Ctrl-C destroys the endpoint and exits with 130 (128 + SIGINT, as a shell reports a
    program that SIGINT ended) without a traceback; a second Ctrl-C during that clean-up is
    ignored, so the eptdev is never left behind.
    """
    exit_cleanly_on_sigterm()
    ok = False
    try:
        try:
            dev = open_endpoint(args)
            if dev is not None:
                ok = work(dev, args)
                try:
                    rpmsg_char_close(dev)
                except RpmsgCharError as exc:
                    print(f"rpmsg_char_close failed: {exc}", file=sys.stderr)
                    ok = False
        finally:
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                rpmsg_char_exit()
            finally:
                signal.signal(signal.SIGINT, previous)
    except KeyboardInterrupt:
        return INTERRUPTED
    print(f"TEST STATUS: {'PASSED' if ok else 'FAILED'}")
    return 0 if ok else 1
