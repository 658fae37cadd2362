"""The board options shared by `rpmsg-emu mount`, `run` and the pytest plugin.

A board file (or built-in board) says what to emulate; the options override single pieces of
it, so a one-off experiment ("the same board, but core 9 runs my firmware") needs no new file.
All problems are reported as `kernel_cfg.BoardError`, whose text names what is allowed.
"""
from __future__ import annotations

import argparse
import dataclasses
import grp
import os
import pwd
from pathlib import Path

from kernel_cfg import (PROFILES, RPROC_ID_NAMES, Board, BoardError, CoreConfig, builtin_board,
                        default_board, list_builtin_boards, load_board, soc_by_family)
from kernel_cfg.board import firmware_name_problem, parse_probe_order
from kernel_cfg.core_faults import FAULT_KEYS, fault_problem, parse_fault_word


def add_board_options(parser: argparse.ArgumentParser) -> None:
    """Add --board, --soc, --kernel, --firmware, --owner, --group, --mode."""
    group = parser.add_argument_group("board (what is emulated; options override the board file)")
    group.add_argument("--board", metavar="FILE|NAME",
                       help="board TOML file (docs/boards.md) or a built-in board: "
                            f"{', '.join(list_builtin_boards())} (default: am62x)")
    group.add_argument("--soc", metavar="NAME",
                       help="SoC family, e.g. am62x, am64x, j721e; without --board every core "
                            "of that SoC runs echo")
    group.add_argument("--kernel", metavar="PROFILE", choices=sorted(PROFILES),
                       help=f"kernel profile: {', '.join(PROFILES)} (default ti-6.x)")
    group.add_argument("--firmware", metavar="ID=NAME", action="append", default=[],
                       help="firmware for one core, ID a TI rproc id (9) or name (M4F_MCU0_0); "
                            "repeatable; adds the core if the board lacks it")
    group.add_argument("--owner", metavar="USER", help="owner of /dev/rpmsg* (name or uid; default: the board's, "
                            "root, or you when you are not root)")
    group.add_argument("--group", metavar="GROUP", help="group of /dev/rpmsg* (name or gid; default as --owner)")
    group.add_argument("--mode", metavar="MODE", help="permissions of /dev/rpmsg*, e.g. 0660")
    group.add_argument("--fault", metavar="ID:KEY=VALUE", action="append", default=[],
                       help="fault injection on one core, keys as in a board's "
                            "[cores.<id>.faults] (e.g. 9:drop_tx=2, 9:stall=true); repeatable")
    group.add_argument("--timing", choices=("board", "fast"),
                       help="board: each core answers after its modelled latency (default); "
                            "fast: no modelled delay, replies still asynchronous")
    group.add_argument("--probe-order", metavar="board|shuffle[:SEED]",
                       help="order the kernel probes the remote cores in, which numbers "
                            "remoteprocN, virtioN, rpmsg_ctrlN and rpmsgN: the board's (default) "
                            "or a permutation fixed by SEED, to catch programs that hard-code "
                            "/dev/rpmsg0")


def board_from_args(args: argparse.Namespace) -> Board:
    """The board the options describe; BoardError when they cannot be emulated."""
    board = _base_board(args.board, args.soc)
    if args.board and args.soc:
        board = _with_soc(board, args.soc)
    if args.kernel:
        board = dataclasses.replace(board, profile=PROFILES[args.kernel])
    for spec in args.firmware:
        board = _with_firmware(board, spec)
    if args.owner is not None:
        board = dataclasses.replace(board, dev_uid=_user_id(args.owner))
    if args.group is not None:
        board = dataclasses.replace(board, dev_gid=_group_id(args.group))
    if args.mode is not None:
        board = dataclasses.replace(board, dev_mode=_mode(args.mode))
    if getattr(args, "timing", None) is not None:
        board = dataclasses.replace(board, timing=args.timing)
    for spec in getattr(args, "fault", []):
        board = _with_fault(board, spec)
    if getattr(args, "probe_order", None) is not None:
        order, seed = parse_probe_order(args.probe_order, "--probe-order", "")
        board = dataclasses.replace(board, probe_order=order, probe_seed=seed)
    return board


def _base_board(spec: str | None, soc: str | None) -> Board:
    if spec is None:
        if soc is None:
            return default_board()
        family = _soc(soc)
        return Board(name=family.family.lower(), soc=family, profile=default_board().profile,
                     cores={rp.rproc_id: CoreConfig(rp.rproc_id) for rp in family.rprocs})
    if spec in list_builtin_boards() and not Path(spec).exists():
        return builtin_board(spec)
    if not Path(spec).exists() and "/" not in spec and not spec.endswith(".toml"):
        raise BoardError(spec, "--board", "neither a board file nor a built-in board; "
                         f"built-in: {', '.join(list_builtin_boards())}")
    return load_board(spec)


def _soc(name: str):
    try:
        return soc_by_family(name)
    except KeyError as exc:
        raise BoardError("--soc", "", exc.args[0]) from None


def _with_soc(board: Board, name: str) -> Board:
    soc = _soc(name)
    bad = [rid for rid in board.cores if rid not in soc.rproc_ids]
    if bad:
        raise BoardError("--soc", "", f"board {board.name} has cores {bad} that {soc.family} "
                         "lacks; valid there: " + ", ".join(
                             f"{rp.rproc_id} ({rp.id_name})" for rp in soc.rprocs))
    return dataclasses.replace(board, soc=soc)


def _with_firmware(board: Board, spec: str) -> Board:
    core_key, sep, name = spec.partition("=")
    if not sep or not core_key or not name:
        raise BoardError("--firmware", spec, "write it as ID=NAME, e.g. 9=echo")
    problem = firmware_name_problem(name)
    if problem:
        raise BoardError("--firmware", spec, problem)
    rid = _rproc_id(core_key)
    if rid not in board.soc.rproc_ids:
        raise BoardError("--firmware", spec, f"no core {core_key} on {board.soc.family}; valid: "
                         + ", ".join(f"{rp.rproc_id} ({rp.id_name})" for rp in board.soc.rprocs))
    core = board.cores.get(rid, CoreConfig(rid))
    cores = dict(board.cores)
    cores[rid] = dataclasses.replace(core, firmware=name)
    return dataclasses.replace(board, cores=dict(sorted(cores.items())))


def _with_fault(board: Board, spec: str) -> Board:
    """--fault ID:KEY=VALUE: one fault-injection key for a core the board has."""
    core_key, colon, word = spec.partition(":")
    key, equals, text = word.partition("=")
    if not colon or not equals or not core_key or not key:
        raise BoardError("--fault", spec, "write it as ID:KEY=VALUE, e.g. 9:drop_tx=2")
    rid = _rproc_id(core_key)
    if rid not in board.cores:
        raise BoardError("--fault", spec, f"the board has no core {core_key}; it has "
                         + ", ".join(str(r) for r in board.cores))
    value = parse_fault_word(key, text)
    problem = fault_problem(key, value) if value is not None or key not in FAULT_KEYS else \
        f"{text!r} is not a number, true or false"
    if problem:
        raise BoardError("--fault", spec, problem)
    core = board.cores[rid]
    cores = dict(board.cores)
    cores[rid] = dataclasses.replace(core, faults={**core.faults, key: value})
    return dataclasses.replace(board, cores=cores)


def _rproc_id(key: str) -> int:
    if key.isdigit():
        return int(key)
    by_name = {name: rid for rid, name in RPROC_ID_NAMES.items()}
    if key.upper() in by_name:
        return by_name[key.upper()]
    raise BoardError("--firmware", key, "not an rproc id or TI name; known names: "
                     + ", ".join(RPROC_ID_NAMES.values()))


def _user_id(value: str) -> int:
    if value.isdigit():
        return _id_in_range("--owner", value)
    try:
        return pwd.getpwnam(value).pw_uid
    except KeyError:
        raise BoardError("--owner", value, "no such user") from None


def _group_id(value: str) -> int:
    if value.isdigit():
        return _id_in_range("--group", value)
    try:
        return grp.getgrnam(value).gr_gid
    except KeyError:
        raise BoardError("--group", value, "no such group") from None


def _id_in_range(option: str, value: str) -> int:
    """A numeric uid/gid as the kernel accepts it: 32 bits, and not (uid_t)-1, which means
    "no id" to chown(2) and is INVALID_UID in include/linux/uidgid.h."""
    number = int(value)
    if number >= 2**32 - 1:
        raise BoardError(option, value, "a numeric id from 0 to 4294967294")
    return number


def _mode(value: str) -> int:
    text = value.strip().lower().removeprefix("0o")
    if len(text) in (3, 4) and all(c in "01234567" for c in text) and int(text, 8) <= 0o777:
        return int(text, 8)
    raise BoardError("--mode", value, "three octal digits like 0660, no special bits")


def default_owner_for_user(board: Board, args: argparse.Namespace) -> Board:
    """Unprivileged runs own their device nodes unless --owner/--group say otherwise."""
    uid, gid = os.getuid(), os.getgid()
    if uid == 0:
        return board
    return dataclasses.replace(board,
                               dev_uid=board.dev_uid if args.owner is not None else uid,
                               dev_gid=board.dev_gid if args.group is not None else gid)
