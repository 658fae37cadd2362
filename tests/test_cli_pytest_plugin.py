"""The `rpmsg_board` fixture, used from a user's test file in a separate pytest run."""
from __future__ import annotations

import re

import pytest

from fusedev.fuse import mountpoint

pytest_plugins = ["pytester"]

USER_TESTS = '''
import pytest

from rpmsg_char import ROOT_ENV


def test_default_board(rpmsg_board):
    assert (rpmsg_board / "dev" / "rpmsg_ctrl0").exists()
    assert (rpmsg_board / "sys/devices/soc0/family").read_text().strip() == "AM62X"
    print("MOUNTED", rpmsg_board)


@pytest.mark.rpmsg_board(soc="am64x", firmware={2: "echo"}, kernel="mainline")
def test_marker(rpmsg_board):
    assert (rpmsg_board / "sys/devices/soc0/family").read_text().strip() == "AM64X"
    print("MOUNTED", rpmsg_board)


@pytest.mark.parametrize("rpmsg_board", ["j721e", {"soc": "am62x", "firmware": ["15=echo"]}],
                         indirect=True)
def test_indirect(rpmsg_board):
    family = (rpmsg_board / "sys/devices/soc0/family").read_text().strip()
    assert family in ("J721E", "AM62X")
    print("MOUNTED", rpmsg_board)


def test_echo_through_the_library(rpmsg_board, monkeypatch):
    from rpmsg_char.examples.simple import main
    monkeypatch.setenv(ROOT_ENV, str(rpmsg_board))
    assert main(["-r", "9", "-n", "2"]) == 0
    print("MOUNTED", rpmsg_board)
'''


def test_fixture_mounts_parametrises_and_always_unmounts(pytester: pytest.Pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    mounted = re.findall(r"MOUNTED (\S+)", "\n".join(result.outlines))
    assert len(set(mounted)) == 5
    assert not set(mounted) & set(mountpoint.fuse_mounts())


BOARD_OBJECT_TESTS = '''
import errno
import os

import pytest


@pytest.mark.rpmsg_board(soc="am64x", firmware={2: "echo"})
def test_the_fixture_is_a_board(rpmsg_board):
    assert os.fspath(rpmsg_board) == str(rpmsg_board.root) == str(rpmsg_board)
    assert (rpmsg_board / "dev" / "rpmsg_ctrl0").exists() and rpmsg_board.is_dir()
    assert rpmsg_board.board == "am64x"
    core = rpmsg_board.core("R5F_MAIN0_0")
    assert (core.rproc_id, core.state) == (2, "running")
    assert rpmsg_board.core(2).remoteproc == core.remoteproc
    assert rpmsg_board.debugfs == rpmsg_board.root / "sys/kernel/debug/rpmsg_emu"
    node = next(e["node"] for e in rpmsg_board.status()["eptdevs"]
                if e["remoteproc"] == core.remoteproc)
    with rpmsg_board.trace() as trace:
        fd = os.open(node, os.O_RDWR)
        os.write(fd, b"ping")
        assert os.read(fd, 496) == b"ping"
        sent = next(iter(trace))
        assert (sent.direction, sent.dst, sent.payload) == ("tx", 14, b"ping")
        core.stop()
        with pytest.raises(OSError) as gone:
            os.read(fd, 496)
        assert gone.value.errno == errno.EPIPE
        os.close(fd)
    assert core.state == "offline" and not os.path.exists(node)
    core.start()
    assert core.state == "running"
    core.crash()
    assert core.state == "crashed"
    with pytest.raises(KeyError, match="no core 7"):
        rpmsg_board.core(7)
'''


def test_fixture_object_drives_cores_and_trace(pytester: pytest.Pytester):
    pytester.makepyfile(test_user=BOARD_OBJECT_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_unknown_option_is_a_usage_error(pytester: pytest.Pytester):
    pytester.makepyfile(test_user='''
import pytest

@pytest.mark.rpmsg_board(sok="am64x")
def test_typo(rpmsg_board):
    pass
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*rpmsg_board: unknown options*sok*allowed: board, soc*"])
