"""The Python helper as an application author meets it: async receive under asyncio, trio
and anyio, cores named as TI names them, a firmware's own channel bound to rpmsg_chrdev,
an honest "left behind" warning, and examples that stop cleanly on Ctrl-C.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from rpmsg_char import RProcId, RpmsgChar, RpmsgCharError
from rpmsg_ioctl import create_ept, eptdevs

REPO = Path(__file__).resolve().parents[1]
PING_PONG = "virtio0.ti.ipc4.ping-pong.-1.13"


def test_asyncio_receive_waits_without_blocking_the_loop(emu) -> None:
    async def session() -> tuple[bool, bytes, int]:
        with RpmsgChar(root=emu.root) as lib, lib.open(9, 14) as ept:
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.01)

            tick_task = asyncio.create_task(ticker())
            try:
                await asyncio.wait_for(ept.arecv(), 0.2)
                timed_out = False
            except asyncio.TimeoutError:
                timed_out = True  # the cancelled arecv left the loop usable
            ept.send(b"over asyncio")
            reply = await asyncio.wait_for(ept.arecv(), 10)
            tick_task.cancel()
            return timed_out, reply, ticks

    timed_out, reply, ticks = asyncio.run(session())
    assert timed_out
    assert reply == b"over asyncio"
    assert ticks >= 5  # the loop kept running while arecv waited


async def test_trio_receive_after_a_cancelled_one(emu) -> None:
    lib = await trio.to_thread.run_sync(lambda: RpmsgChar(root=emu.root))
    ept = await trio.to_thread.run_sync(lambda: lib.open(RProcId.R5F_WKUP0_0, 14))
    try:
        with trio.move_on_after(0.05):
            await ept.arecv()
        await trio.to_thread.run_sync(ept.send, b"over trio")
        with trio.fail_after(10):
            assert await ept.arecv() == b"over trio"
    finally:
        await trio.to_thread.run_sync(ept.close)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_anyio_receive_on_either_backend(emu, backend: str) -> None:
    anyio = pytest.importorskip("anyio")

    async def session() -> bytes:
        with RpmsgChar(root=emu.root) as lib, lib.open(9, 14) as ept:
            with anyio.move_on_after(0.05):
                await ept.arecv()
            ept.send(f"over anyio/{backend}".encode())
            with anyio.fail_after(10):
                return await ept.arecv()

    assert anyio.run(session, backend=backend) == f"over anyio/{backend}".encode()


def test_arecv_outside_an_event_loop_says_what_it_needs(emu) -> None:
    with RpmsgChar(root=emu.root) as lib, lib.open(9, 14) as ept:
        coro = ept.arecv()
        with pytest.raises(RuntimeError, match="asyncio or trio"):
            coro.send(None)  # a bare coroutine driven by hand: no loop is running


@pytest.mark.parametrize("name", ["M4F_MCU0_0", "m4f_mcu0_0", RProcId.M4F_MCU0_0, 9])
def test_open_takes_tis_core_name_as_well_as_its_id(emu, name) -> None:
    with RpmsgChar(root=emu.root) as lib, lib.open(name, 14) as ept:
        assert ept.route.rproc_id is RProcId.M4F_MCU0_0
        assert ept.route.platform_name == "5000000.m4fss"
        ept.send(b"by name")
        assert ept.recv(timeout=10) == b"by name"


def test_an_unknown_core_name_lists_the_known_ones(emu) -> None:
    with RpmsgChar(root=emu.root) as lib, pytest.raises(RpmsgCharError) as err:
        lib.open("M4F_MAIN0_0", 14)
    assert err.value.errno == errno.EINVAL
    assert "M4F_MCU0_0" in str(err.value) and "R5F_WKUP0_0" in str(err.value)


def test_bind_chrdev_gives_the_firmwares_own_channel_an_endpoint(emu) -> None:
    with RpmsgChar(root=emu.root) as lib:
        with pytest.raises(RpmsgCharError, match=r"bind_chrdev\(\)") as err:
            lib.open("M4F_MCU0_0", 13, dev_name="ti.ipc4.ping-pong")  # no driver holds it yet
        assert err.value.errno == errno.ENODEV

        assert lib.bind_chrdev("M4F_MCU0_0", 13, "ti.ipc4.ping-pong") == PING_PONG
        channel = emu.root / "sys/bus/rpmsg/devices" / PING_PONG
        assert (channel / "driver_override").read_text() == "rpmsg_chrdev\n"
        assert os.readlink(channel / "driver").endswith("/rpmsg_chrdev")
        assert lib.bind_chrdev(9, 13, "ti.ipc4.ping-pong") == PING_PONG  # already bound: nothing to do

        with lib.open("M4F_MCU0_0", 13, dev_name="ti.ipc4.ping-pong") as ept:
            ept.send(b"ping")
            assert ept.recv(timeout=10) == b"ping"  # TI's echo firmware answers on 13 too

        with pytest.raises(RpmsgCharError) as err:
            lib.bind_chrdev(9, 77, "ti.ipc4.ping-pong")
        assert err.value.errno == errno.ENODEV and "channels:" in str(err.value)


def test_left_behind_warning_only_for_an_eptdev_nobody_holds(emu, caplog) -> None:
    caplog.set_level(logging.INFO, logger="rpmsg_char.eptdev")
    with RpmsgChar(root=emu.root) as lib:
        first = lib.open(9, 14, eptdev_name="worker")
        second = lib.open(9, 14, eptdev_name="worker")  # our own endpoint has that name
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        first.close()
        second.close()

        holder = subprocess.Popen([sys.executable, "-c", "import os, sys; fd = os.open(sys.argv[1], os.O_RDWR);"
                                   "print('open', flush=True); sys.stdin.read()", str(emu.root / "dev" /
                                   create_ept(emu.root, "shared"))],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline() == "open\n"
            caplog.clear()
            lib.open(9, 14, eptdev_name="shared").close()  # another live process holds it
            assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
            assert any(f"held open by pid {holder.pid}" in r.getMessage() for r in caplog.records)
        finally:
            holder.communicate("")

        stale = create_ept(emu.root, "crashed")  # nobody holds it: really left behind
        caplog.clear()
        lib.open(9, 14, eptdev_name="crashed").close()
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and stale in warnings[0] and "left behind" in warnings[0]


def start_example(root: Path, *args: str) -> subprocess.Popen:
    """An example program as a user starts it, Ctrl-C reaching it as SIGINT (not ignored,
    whatever the test runner's own disposition)."""
    return subprocess.Popen(
        [sys.executable, "-m", *args, "--root", str(root)], cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.board(firmware={9: "sink", 15: "echo"})
def test_ctrl_c_on_an_example_blocked_in_read_exits_130_without_traceback(emu) -> None:
    proc = start_example(emu.root, "rpmsg_char.examples.simple", "-r", "9", "-n", "3", "--timeout", "0")
    try:
        lines = []
        while not lines or not lines[-1].startswith("Sending message #0"):
            line = proc.stdout.readline()
            assert line, f"the example ended early: {lines}"
            lines.append(line)
        assert any(name.startswith(f"rpmsg-char-9-{proc.pid}") for name in eptdevs(emu.root).values())
        proc.send_signal(signal.SIGINT)  # the sink never answers: it is blocked in read()
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "TEST STATUS" not in out
    assert not any(name.startswith(f"rpmsg-char-9-{proc.pid}") for name in eptdevs(emu.root).values())


def test_ctrl_c_on_the_benchmark_mid_run_exits_130_and_destroys_its_endpoint(emu) -> None:
    proc = start_example(emu.root, "rpmsg_char.examples.benchmark", "-r", "9", "-n", "100000000")
    try:
        assert proc.stdout.readline().startswith("Created endpt device")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not any(name.startswith(f"rpmsg-char-9-{proc.pid}") for name in eptdevs(emu.root).values())
