"""Board options of `rpmsg-emu mount`/`run`: files, built-ins, overrides, clear errors (exit 2)."""
from __future__ import annotations

import argparse
import os

import pytest

from fusedev.cli import board_args
from fusedev.cli.main import main
from kernel_cfg import BoardError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    board_args.add_board_options(parser)
    return parser.parse_args(argv)


def test_default_is_am62x_with_both_cores_on_echo():
    board = board_args.board_from_args(parse())
    assert board.soc.family == "AM62X"
    assert {rid: core.firmware for rid, core in board.cores.items()} == {9: "echo", 15: "echo"}


def test_builtin_board_by_name_and_file(tmp_path):
    assert board_args.board_from_args(parse("--board", "am64x")).soc.family == "AM64X"
    path = tmp_path / "mine.toml"
    path.write_text('soc = "J721E"\n[cores.R5F_MCU0_0]\nfirmware = "echo"\n')
    board = board_args.board_from_args(parse("--board", str(path)))
    assert (board.name, list(board.cores)) == ("mine", [0])


def test_soc_alone_runs_echo_on_every_core():
    board = board_args.board_from_args(parse("--soc", "am64x"))
    assert sorted(board.cores) == [2, 3, 4, 5, 9]


def test_overrides():
    board = board_args.board_from_args(parse(
        "--kernel", "mainline", "--firmware", "9=my-fw.elf", "--firmware", "R5F_WKUP0_0=echo",
        "--owner", "1000", "--group", "root", "--mode", "0660"))
    assert board.profile.name == "mainline"
    assert board.cores[9].firmware == "my-fw.elf"
    assert (board.dev_uid, board.dev_gid, board.dev_mode) == (1000, 0, 0o660)


def test_firmware_adds_a_core_the_board_lacks():
    board = board_args.board_from_args(parse("--board", "am64x", "--firmware", "2=echo"))
    assert board.cores[2].firmware == "echo"


@pytest.mark.parametrize("argv, message", [
    (["--firmware", "2=echo"], "no core 2 on AM62X; valid: 9 (M4F_MCU0_0), 15 (R5F_WKUP0_0)"),
    (["--firmware", "9"], "write it as ID=NAME"),
    (["--firmware", "9=../../etc/passwd"], "must be relative and must not contain '..'"),
    (["--firmware", "DSP_X=echo"], "not an rproc id or TI name"),
    (["--board", "nosuchboard"], "neither a board file nor a built-in board"),
    (["--board", "/nonexistent/x.toml"], "cannot read board file"),
    (["--soc", "am99x"], "unknown SoC"),
    (["--board", "j721e", "--soc", "am62x"], "that AM62X lacks"),
    (["--mode", "rw-rw----"], "three octal digits"),
    (["--owner", "no-such-user-here"], "no such user"),
])
def test_errors_name_what_is_allowed(argv, message):
    with pytest.raises(BoardError, match=message.replace("(", r"\(").replace(")", r"\)")):
        board_args.board_from_args(parse(*argv))


def test_board_error_is_exit_2_without_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["mount", str(tmp_path), "--firmware", "2=echo"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("rpmsg-emu: error: --firmware: 2=echo: no core 2 on AM62X")
    assert "Traceback" not in err


def test_unprivileged_users_own_their_nodes_unless_told_otherwise(monkeypatch):
    monkeypatch.setattr(os, "getuid", lambda: 1000)
    monkeypatch.setattr(os, "getgid", lambda: 100)
    board = board_args.board_from_args(parse())
    assert (board_args.default_owner_for_user(board, parse()).dev_uid, board_args
            .default_owner_for_user(board, parse()).dev_gid) == (1000, 100)
    told = parse("--owner", "0")
    assert board_args.default_owner_for_user(board_args.board_from_args(told), told).dev_uid == 0
