"""`rpmsg-emu trace`: a message sent by a client shows up, filters work, Ctrl-C exits 0."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fusedev.pytest_plugin import BoardProcess
from fusedev.trace_view import Message, format_message, select

VENV_BIN = Path(sys.executable).parent


def test_format_shows_direction_addresses_hex_and_text():
    msg = Message.parse("12.5\t5000000.m4fss\ttx\t1025\t14\t6\t68690a00ff41\n")
    line = format_message(msg)
    assert "5000000.m4fss" in line and " tx " in line
    assert "1025 -> 14" in line
    assert "[6]" in line
    assert "68 69 0a 00 ff 41" in line
    assert "'hi...A'" in line


def test_select_by_core_and_address():
    msgs = [Message(1.0, "a", "tx", 1025, 14, b""), Message(2.0, "b", "rx", 14, 1026, b"")]
    assert [m.core for m in select(msgs, "b", None)] == ["b"]
    assert [m.src for m in select(msgs, None, 1026)] == [14]
    assert list(select(msgs, "a", 1026)) == []


@pytest.fixture
def board(tmp_path: Path):
    mount_dir = tmp_path / "board"
    mount_dir.mkdir()
    process = BoardProcess(mount_dir, [])
    yield mount_dir
    process.stop()


def start_trace(mount_dir: Path, *options: str) -> subprocess.Popen:
    trace = subprocess.Popen([sys.executable, "-m", "fusedev.cli", "trace", str(mount_dir),
                              *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    pipe = mount_dir / "sys/kernel/debug/rpmsg_emu/trace_pipe"
    deadline = time.monotonic() + 10
    while not _has_reader(trace.pid, pipe):  # the pipe shows only what comes after the open
        assert time.monotonic() < deadline and trace.poll() is None, trace.communicate()
        time.sleep(0.05)
    return trace


def _has_reader(pid: int, pipe: Path) -> bool:
    try:
        return any(str(pipe) == str(fd.readlink()) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def send(mount_dir: Path, rproc: int) -> None:
    result = subprocess.run([str(VENV_BIN / "rpmsg_char_simple"), "--root", str(mount_dir),
                             "-r", str(rproc), "-n", "1"], capture_output=True, text=True,
                            timeout=30)
    assert "TEST STATUS: PASSED" in result.stdout, result.stdout + result.stderr


def stop(trace: subprocess.Popen) -> tuple[int, str, str]:
    trace.send_signal(signal.SIGINT)
    out, err = trace.communicate(timeout=10)
    return trace.returncode, out, err


def test_trace_shows_the_message_both_ways_and_ctrl_c_is_quiet(board):
    trace = start_trace(board)
    send(board, 9)
    time.sleep(0.3)
    code, out, err = stop(trace)
    assert (code, err) == (0, "")
    payload = b"hello there 0!".hex(" ")
    lines = [line for line in out.splitlines() if payload in line]
    assert [line.split()[2] for line in lines] == ["tx", "rx"], out
    assert all("5000000.m4fss" in line and "'hello there 0!'" in line for line in lines)
    assert "-> 14 " in lines[0] and "14 ->" in lines[1]


def test_core_filter_by_rproc_id(board):
    trace = start_trace(board, "--core", "15")
    send(board, 9)
    send(board, 15)
    time.sleep(0.3)
    code, out, _ = stop(trace)
    assert code == 0
    assert "78000000.r5f" in out
    assert "5000000.m4fss" not in out


def test_trace_of_a_directory_without_a_board(tmp_path):
    result = subprocess.run([sys.executable, "-m", "fusedev.cli", "trace", str(tmp_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "is an rpmsg-emu mount there?" in result.stderr
