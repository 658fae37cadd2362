"""`rpmsg-emu trace`: a message sent by a client shows up, filters work, Ctrl-C exits 0;
name-service messages decoded, -t modes, --json, -w then -r, unknown cores refused."""
from __future__ import annotations

import json
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fusedev.cli.pytest_plugin import BoardProcess
from fusedev.kernel.trace_record import BoardInfo, Message, dump_line, write_header
from fusedev.cli.trace_view import Clock, format_record, select

VENV_BIN = Path(sys.executable).parent


def test_format_shows_direction_addresses_hex_and_text():
    msg = Message(12.5, "5000000.m4fss", "tx", 1025, 14, bytes.fromhex("68690a00ff41"))
    line = format_record(msg, msg.time)
    assert "5000000.m4fss" in line and " tx " in line
    assert "1025 -> 14" in line
    assert "[6]" in line
    assert "68 69 0a 00 ff 41" in line
    assert "'hi...A'" in line


def test_long_payload_is_shortened_unless_full():
    msg = Message(1.0, "a", "tx", 1025, 14, bytes(range(65, 65 + 40)))
    short = format_record(msg, 1.0)
    assert "[40]" in short and "…(+8)" in short
    assert "'" + "".join(chr(c) for c in range(65, 65 + 32)) + "'" in short
    full = format_record(msg, 1.0, full=True)
    assert "…" not in full and msg.payload.hex(" ") in full


def ns_payload(name: bytes, addr: int, flags: int) -> bytes:
    """struct rpmsg_ns_msg (include/linux/rpmsg/ns.h): name[32], addr, flags, little endian."""
    return struct.pack("<32sII", name, addr, flags)


def test_name_service_messages_are_decoded():
    create = Message(1.0, "a", "rx", 14, 53, ns_payload(b"rpmsg_chrdev", 14, 0))
    assert "ns create 'rpmsg_chrdev' addr 14" in format_record(create, 1.0)
    destroy = Message(1.0, "a", "rx", 13, 53, ns_payload(b"ti.ipc4.ping-pong", 13, 1))
    assert "ns destroy 'ti.ipc4.ping-pong' addr 13" in format_record(destroy, 1.0)
    # rpmsg_ns_cb takes only sizeof(struct rpmsg_ns_msg) bytes: anything else is plain data
    odd = Message(1.0, "a", "rx", 14, 53, ns_payload(b"x", 1, 0) + b"!")
    assert "ns " not in format_record(odd, 1.0)
    # name[31] is forced to NUL, as rpmsg_ns_cb does
    long_name = Message(1.0, "a", "rx", 14, 53, ns_payload(b"n" * 32, 14, 0))
    assert f"'{'n' * 31}'" in format_record(long_name, 1.0)


def test_timestamp_modes():
    times = [100.0, 100.25, 101.0]
    assert [Clock("a").stamp(t) for t in times][-1] == 101.0
    delta = Clock("d")
    assert [delta.stamp(t) for t in times] == [0.0, 0.25, 0.75]
    zero = Clock("z")
    assert [zero.stamp(t) for t in times] == [0.0, 0.25, 1.0]


def test_select_by_core_and_address():
    msgs = [Message(1.0, "a", "tx", 1025, 14, b""), Message(2.0, "b", "rx", 14, 1026, b"")]
    assert [m.core for m in select(msgs, "b", None)] == ["b"]
    assert [m.src for m in select(msgs, None, 1026)] == [14]
    assert list(select(msgs, "a", 1026)) == []


def run_trace(*options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fusedev.cli", "trace", *options],
                          capture_output=True, text=True, timeout=60)


def test_reading_a_capture_with_filters_and_views(tmp_path):
    """A capture file as docs/cli.md describes it, read with -r: no mount involved."""
    capture = tmp_path / "capture.rpmsg.jsonl"
    board = BoardInfo("AM62X", ("5000000.m4fss", "78000000.r5f"))
    with open(capture, "w") as out:
        write_header(out, board)
        out.write(dump_line(Message(1000.0, "5000000.m4fss", "rx", 14, 53,
                                    ns_payload(b"rpmsg_chrdev", 14, 0))))
        out.write(dump_line(Message(1000.5, "5000000.m4fss", "tx", 1025, 14, b"ping")))
        out.write(dump_line(Message(1001.0, "78000000.r5f", "tx", 1026, 14, b"other")))
        out.write('{"time":1002.0,"kind":"fault","core":"5000000.m4fss","what":"drop",'
                  '"dst":1025}\n')
    result = run_trace("-r", str(capture), "--core", "M4F_MCU0_0", "-t", "z")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert "ns create 'rpmsg_chrdev' addr 14" in lines[0]
    assert lines[1].split()[0] == "0.500000" and "'ping'" in lines[1]
    assert "fault" in lines[2] and 'what="drop"' in lines[2]  # a kind this viewer does not know

    result = run_trace("-r", str(capture), "--addr", "1026", "--json", "-t", "d")
    assert result.returncode == 0, result.stderr
    [obj] = [json.loads(line) for line in result.stdout.splitlines()]
    assert obj["core"] == "78000000.r5f" and bytes.fromhex(obj["data"]) == b"other"
    assert obj["time"] == 0.0

    result = run_trace("-r", str(capture), "--core", "79000000.r5f")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "no such core on this board" in result.stderr
    result = run_trace("-r", str(capture), "--core", "2")
    assert result.returncode == 2 and "AM62X has no rproc id 2" in result.stderr


def test_a_file_that_is_not_a_capture_is_refused(tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello\n")
    result = run_trace("-r", str(bogus))
    assert result.returncode == 2
    assert "not an rpmsg-emu capture" in result.stderr and "Traceback" not in result.stderr


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


@pytest.mark.parametrize("option", [["--core", "99"], ["--core", "R5F_MAIN0_0"],
                                    ["--core", "6000000.m4fss"], ["--addr", "0xffffffff"],
                                    ["--addr", "4294967296"], ["--addr", "-1"],
                                    ["--addr", "ping"]])
def test_a_filter_that_can_never_match_is_refused_at_once(board, option):
    result = run_trace(str(board), *option)  # before: waited forever for a matching message
    assert result.returncode == 2, result
    assert result.stderr.startswith("rpmsg-emu: error: ") and result.stderr.count("\n") == 1


def test_name_service_announcements_of_a_restarted_core(board):
    state = board / "sys/class/remoteproc/remoteproc0/state"
    trace = start_trace(board, "--core", "9", "--addr", "53")
    state.write_text("stop")
    state.write_text("start")
    channels = board / "sys/bus/rpmsg/devices"
    deadline = time.monotonic() + 20
    while not any("rpmsg_chrdev" in channel.name for channel in channels.iterdir()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    code, out, _ = stop(trace)
    assert code == 0
    assert "ns create 'rpmsg_chrdev' addr 14" in out, out
    assert "ns create 'ti.ipc4.ping-pong' addr 13" in out, out


def test_write_a_capture_then_read_it_back_with_filters(board, tmp_path):
    capture = tmp_path / "run.rpmsg.jsonl"
    trace = start_trace(board, "-w", str(capture))
    send(board, 9)
    send(board, 15)
    time.sleep(0.3)
    code, out, err = stop(trace)
    assert (code, out, err) == (0, "", "")

    result = run_trace("-r", str(capture), "--core", "M4F_MCU0_0", "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["core"] for r in records} == {"5000000.m4fss"}
    hello = [r for r in records if bytes.fromhex(r["data"]) == b"hello there 0!"]
    assert [r["dir"] for r in hello] == ["tx", "rx"]
    assert hello[0]["dst"] == 14 and hello[1]["src"] == 14

    result = run_trace("-r", str(capture), "--core", "15", "-t", "z")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all("78000000.r5f" in line for line in lines)
    assert lines[0].split()[0] == "0.000000"
