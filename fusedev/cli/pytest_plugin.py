"""pytest plugin: the `rpmsg_board` fixture mounts an emulated board for a user's own tests.

The board is served by `rpmsg-emu mount` in a separate process, so that the test's own
blocking calls (open, read, select on /dev/rpmsgN) are answered while the test waits in them.
The fixture yields an `RpmsgBoard` (fusedev/cli/board_handle.py), which is also path-like: point
the code under test at it, e.g. with `monkeypatch.setenv("RPMSG_CHAR_ROOT", str(rpmsg_board))`.
Choose the board with a marker or with indirect parametrisation (docs/cli.md):

    @pytest.mark.rpmsg_board(soc="am64x", firmware={2: "echo"})
    @pytest.mark.parametrize("rpmsg_board", ["am62x", {"soc": "j721e"}], indirect=True)
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from fusedev.fuse import mountpoint
from fusedev.cli.board_handle import RpmsgBoard

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
OPTIONS = ("board", "soc", "kernel", "firmware", "owner", "group", "mode", "allow_other",
           "timing", "faults")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "rpmsg_board(board=None, soc=None, kernel=None, firmware=None, owner=None, "
        "group=None, mode=None, allow_other=False, timing=None, faults=None): what the "
        "rpmsg_board fixture emulates; faults={9: {'drop_tx': 2}} injects faults")


def mount_options(spec: dict[str, Any]) -> list[str]:
    """`rpmsg-emu mount` options for a board spec such as {"soc": "am64x", "firmware": {2: "echo"}}."""
    unknown = set(spec) - set(OPTIONS)
    if unknown:
        pytest.fail(f"rpmsg_board: unknown options {sorted(unknown)}; "
                    f"allowed: {', '.join(OPTIONS)}", pytrace=False)
    argv: list[str] = []
    for key in ("board", "soc", "kernel", "owner", "group", "mode", "timing"):
        if spec.get(key) is not None:
            argv += [f"--{key}", str(spec[key])]
    firmware = spec.get("firmware") or {}
    items = firmware.items() if isinstance(firmware, dict) else (
        item.split("=", 1) for item in firmware)
    for core, name in items:
        argv += ["--firmware", f"{core}={name}"]
    for core, keys in (spec.get("faults") or {}).items():  # {9: {"drop_tx": 2}}
        for key, value in keys.items():
            word = str(value).lower() if isinstance(value, bool) else str(value)
            argv += ["--fault", f"{core}:{key}={word}"]
    if spec.get("allow_other"):
        argv.append("--allow-other")
    return argv


def _spec(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Marker options, overridden by the indirect parameter (a dict, or a board name/file)."""
    spec: dict[str, Any] = {}
    marker = request.node.get_closest_marker("rpmsg_board")
    if marker is not None:
        if marker.args:
            spec["board"] = marker.args[0]
        spec.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, dict):
        spec.update(param)
    elif param is not None:
        spec["board"] = os.fspath(param)
    return spec


class BoardProcess:
    """`rpmsg-emu mount DIR ...` running until `stop()`; DIR is always unmounted afterwards.

    Ready means what `mount --ready-fd` reports (docs/cli.md): the daemon writes READY=1 to
    a pipe once the board is up, or the pipe reaches EOF because the daemon died.
    """

    def __init__(self, mount_dir: Path, options: list[str]) -> None:
        self.mount_dir = mount_dir
        self.log_path = mount_dir.with_name(mount_dir.name + ".log")
        ready_read, ready_write = os.pipe()
        try:
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "fusedev.cli", "mount", str(mount_dir), *options,
                     "--ready-fd", str(ready_write)],
                    stdout=log, stderr=subprocess.STDOUT, pass_fds=(ready_write,))
        finally:
            os.close(ready_write)
        with os.fdopen(ready_read, "rb") as ready:
            line = self._wait_ready(ready)
        if line != b"READY=1\n":
            try:
                returncode = self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                returncode = None
            self.stop()
            raise RuntimeError(f"rpmsg-emu mount failed ({returncode}):\n" + self.log())

    def _wait_ready(self, ready: Any) -> bytes:
        readable, _, _ = select.select([ready], [], [], START_TIMEOUT)
        if not readable:
            self.stop()
            raise TimeoutError(f"rpmsg-emu mount not ready in {START_TIMEOUT} s:\n" + self.log())
        return ready.readline()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if str(self.mount_dir) in mountpoint.fuse_mounts() or mountpoint.is_stale(self.mount_dir):
            mountpoint.detach(self.mount_dir)


@pytest.fixture
def rpmsg_board(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[RpmsgBoard]:
    """A mounted emulated board (fusedev/cli/board_handle.py): `os.fspath(board)` and
    `board / "dev" / "rpmsg_ctrl0"` give paths under its root; `board.core(9).stop()`,
    `board.trace()`, `board.status()` act on it as a user would."""
    mount_dir = Path(os.path.realpath(tmp_path_factory.mktemp("rpmsg_board")))
    process = BoardProcess(mount_dir, mount_options(_spec(request)))
    try:
        yield RpmsgBoard(mount_dir, pid=process.proc.pid)
    finally:
        process.stop()
