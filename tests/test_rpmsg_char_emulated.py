"""The rpmsg_char helper library and its two examples, against emulated boards.

Every SoC with every remote core TI's library knows, each kernel profile, the TI-style
functions, the Pythonic endpoint, the trio receive, and the example programs' output.
"""
from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

import pytest
import trio
from kernel_cfg import SOCS

from emulator_thread import EmulatorThread, make_board
from rpmsg_char import (RPMSG_ADDR_ANY, RProcId, RpmsgChar, RpmsgCharError, RpmsgTimeout,
                        rpmsg_char_close, rpmsg_char_exit, rpmsg_char_init, rpmsg_char_open)
from rpmsg_char.examples import benchmark, simple
from rpmsg_ioctl import CREATE_DEV, create_ept, ctrl_ioctl, eptdevs


@pytest.fixture
def board(tmp_path: Path):
    """Start a board on demand: board(soc, kernel, firmware) → its root."""
    running: list[EmulatorThread] = []

    def start(soc: str = "am62x", kernel: str = "ti-6.x",
              firmware: dict[int, str] | None = None) -> Path:
        root = tmp_path / f"board{len(running)}"
        root.mkdir()
        running.append(EmulatorThread(make_board(soc, kernel, firmware), root))
        return root

    yield start
    for emu in running:
        emu.stop()


@pytest.mark.parametrize("family", sorted(SOCS))
def test_every_core_of_every_soc_echoes_through_the_library(board, family: str) -> None:
    root = board(family.lower())
    with RpmsgChar(root=root) as lib:
        for rproc in SOCS[family].rprocs:
            with lib.open(rproc.rproc_id, 14) as ept:
                ept.send(f"hello {rproc.id_name}".encode())
                assert ept.recv(timeout=5) == f"hello {rproc.id_name}".encode()
                assert ept.endpt >= 1024


@pytest.mark.parametrize("rproc_id", [9, 15])
def test_pre_6_1_kernel_layout(board, rproc_id: int) -> None:
    root = board("am62x", "pre-6.1")
    with RpmsgChar(root=root) as lib, lib.open(rproc_id, 14) as ept:
        ept.send(b"old kernel")
        assert ept.recv(timeout=5) == b"old kernel"


def test_mainline_kernel_fails_as_tis_library_does_with_a_clear_message(board) -> None:
    root = board("am62x", "mainline")
    with pytest.raises(RpmsgCharError) as err:
        RpmsgChar(root=root).open(9, 14)
    # Before 6.18 a `rpmsg_chrdev` channel binds no driver: no rpmsg/ directory under it.
    message = str(err.value)
    assert "virtio0.rpmsg_chrdev.-1.14" in message and "rpmsg" in message
    assert err.value.errno in (errno.ENOENT, errno.ENODEV)


def test_ti_style_session_round_trip(board) -> None:
    root = board()
    assert rpmsg_char_init(root=str(root)) == 0
    try:
        assert rpmsg_char_init() == 1
        dev = rpmsg_char_open(RProcId.M4F_MCU0_0, None, RPMSG_ADDR_ANY, 14, "rpmsg-char-9-4242",
                              0)
        assert dev.endpt == 1025  # 1024 is the rpmsg_chrdev channel's own endpoint
        node = dev.node
        assert os.path.exists(node)
        dev.send(b"hello there 0!")
        assert dev.recv(timeout=5) == b"hello there 0!"
        assert rpmsg_char_close(dev) == 0
        assert dev.fd == -1
        assert not os.path.exists(node)  # DESTROY took it away
        with pytest.raises(RpmsgCharError) as err:
            rpmsg_char_close(dev)
        assert err.value.errno == errno.ENOENT
    finally:
        rpmsg_char_exit()


def test_31_byte_name_works_where_tis_library_managed_only_30(board) -> None:
    root = board()
    with RpmsgChar(root=root) as lib, lib.open(RProcId.R5F_WKUP0_0, 14,
                                               eptdev_name="x" * 31) as ept:
        assert ept.name == "x" * 31
        ept.send(b"long name")
        assert ept.recv(timeout=5) == b"long name"


def test_a_stale_eptdev_with_the_same_name_is_not_mistaken_for_the_new_one(board) -> None:
    root = board()
    stale = create_ept(root, "rpmsg-char-9-1")  # left behind by a crashed run
    with RpmsgChar(root=root) as lib, lib.open(9, 14, eptdev_name="rpmsg-char-9-1") as ept:
        assert not ept.node.endswith(f"/{stale}")
        ept.send(b"the new one")
        assert ept.recv(timeout=5) == b"the new one"


def test_pythonic_endpoint_timeouts_and_closing(board) -> None:
    root = board()
    with RpmsgChar(root=root) as lib:
        ept = lib.open(RProcId.M4F_MCU0_0, 14)
        assert ept.name.startswith(f"rpmsg-char-9-{os.getpid()}-")
        assert ept.fileno() == ept.fd and lib.endpoints == (ept,)
        with pytest.raises(RpmsgTimeout) as err:
            ept.recv(timeout=0.05)
        assert isinstance(err.value, TimeoutError) and err.value.errno == errno.ETIMEDOUT
        ept.send(b"abcdef")
        assert ept.recv(3, timeout=5) == b"abc"  # one message per read, truncated
        leftover = lib.open(RProcId.R5F_WKUP0_0, 14)
        ept.close()
        ept.close()
        with pytest.raises(RpmsgCharError, match="is closed") as err:
            ept.send(b"x")
        assert err.value.errno == errno.EBADF
        assert lib.endpoints == (leftover,)
    assert leftover.closed


def test_close_from_another_thread_while_a_reader_waits(board) -> None:
    root = board()
    ept = RpmsgChar(root=root).open(RProcId.M4F_MCU0_0, 14)
    outcome: list[BaseException] = []

    def reader() -> None:
        try:
            ept.recv(timeout=2)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.2)
    ept.close()  # DESTROY wakes the reader (EPIPE); the fd closes once it is out
    thread.join(10)
    assert not thread.is_alive()
    assert ept.closed and ept.fd == -1
    assert len(outcome) == 1 and isinstance(outcome[0], OSError)


def test_nonblocking_endpoint_says_it_would_block(board) -> None:
    root = board()
    with RpmsgChar(root=root) as lib, lib.open(9, 14, flags=os.O_NONBLOCK) as ept:
        with pytest.raises(RpmsgCharError, match="would block") as err:
            ept.recv()
        assert err.value.errno == errno.EAGAIN


async def test_trio_receive_waits_without_blocking_the_loop(board) -> None:
    root = await trio.to_thread.run_sync(board)
    lib = await trio.to_thread.run_sync(lambda: RpmsgChar(root=root))
    ept = await trio.to_thread.run_sync(lambda: lib.open(9, 14))
    try:
        with trio.move_on_after(0.05) as scope:
            await ept.arecv()
        assert scope.cancelled_caught
        await trio.to_thread.run_sync(ept.send, b"pong")
        with trio.fail_after(5):
            assert await ept.arecv() == b"pong"
    finally:
        await trio.to_thread.run_sync(ept.close)


def test_simple_example_prints_tis_lines_and_passes(board, capsys) -> None:
    root = board()
    assert simple.main(["-r", "9", "-n", "3", "--root", str(root)]) == 0
    name = f"rpmsg-char-9-{os.getpid()}"
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"Created endpt device {name}, fd = ")
    assert out[0].endswith(" port = 1025")
    assert out[1:] == [
        f"Exchanging 3 messages with rpmsg device {name} on rproc id 9 ...", "",
        "Sending message #0: hello there 0!", "hello there 0!",
        "Sending message #1: hello there 1!", "hello there 1!",
        "Sending message #2: hello there 2!", "hello there 2!",
        "", f"Communicated 3 messages successfully on {name}", "",
        "TEST STATUS: PASSED",
    ]


def test_simple_example_fails_when_no_echo_comes(board, capsys) -> None:
    root = board(firmware={9: "sink"})  # consumes, never answers
    assert simple.main(["-r", "9", "-n", "2", "--root", str(root), "--timeout", "0.5"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "TEST STATUS: FAILED"
    assert "Communicated" not in out
    assert err.strip()


def test_simple_example_with_tis_default_core_on_am62x(board, capsys) -> None:
    root = board()
    assert simple.main(["--root", str(root)]) == 1
    out, err = capsys.readouterr()
    assert "SoC AM62X has no rproc id 0" in err
    assert out == "TEST STATUS: FAILED\n"


def test_benchmark_reports_latency_statistics(board, capsys) -> None:
    root = board()
    assert benchmark.main(["-r", "15", "-n", "50", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "Communicated 50 messages successfully" in out
    for label in ("Average round-trip latency: ", "Worst-case round-trip latency: ",
                  "Round-trip latency percentiles: p50 = ", "Round-trip latency histogram:"):
        assert label in out
    bars = [line for line in out.splitlines() if " us | " in line]
    assert sum(int(line.split("|")[1].split()[0]) for line in bars) == 50
    assert out.endswith("TEST STATUS: PASSED\n")


def test_mainline_src_minus_one_is_explained_and_the_eptdev_destroyed(board) -> None:
    root = board("am62x", "mainline")
    # Mainline binds rpmsg-raw channels; make one so the walk gets as far as reading src.
    ctrl_ioctl(root, 0, CREATE_DEV, "rpmsg-raw", RPMSG_ADDR_ANY, 14)
    before = eptdevs(root)
    lib = RpmsgChar(root=root)
    with pytest.raises(RpmsgCharError) as err:
        lib.open(9, 14, dev_name="rpmsg-raw", eptdev_name="rpmsg-char-9-1")
    assert "src reads -1" in str(err.value)
    assert "Pass an explicit local endpoint >= 1024" in str(err.value)
    assert eptdevs(root) == before  # TI's library leaks the eptdev here; we destroy it
    with lib.open(9, 14, dev_name="rpmsg-raw", local_endpt=2048) as ept:
        assert ept.endpt == 2048
        ept.send(b"explicit address")
        assert ept.recv(timeout=5) == b"explicit address"
