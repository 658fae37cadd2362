"""Shared fixtures: an emulated board mounted for the test (`emu`), chosen by a marker."""
from __future__ import annotations

import signal
from pathlib import Path

import pytest

from emulator_thread import EmulatorThread, make_board
from fusedev.fuse import mountpoint


def pytest_configure(config: pytest.Config) -> None:
    # A shell runs a background job (`cmd &` in a script) with SIGINT ignored, and every
    # client the tests start would inherit that: the Ctrl-C tests would see clients that
    # cannot be interrupted. Clients get the disposition a user's terminal gives them.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    config.addinivalue_line(
        "markers", "board(soc='am62x', kernel='ti-6.x', firmware=None): the board `emu` mounts")


@pytest.fixture
def emu(tmp_path: Path, request: pytest.FixtureRequest):
    marker = request.node.get_closest_marker("board")
    board = make_board(**(marker.kwargs if marker else {}))
    root = tmp_path / "board"
    root.mkdir()
    running = EmulatorThread(board, root)
    yield running
    running.stop()


@pytest.fixture
def mount_dir(tmp_path: Path):
    """An empty directory to mount a board on; a mount a test left there is detached."""
    path = tmp_path / "board"
    path.mkdir()
    yield path
    if str(path) in mountpoint.fuse_mounts() or mountpoint.is_stale(path):
        mountpoint.detach(path)
