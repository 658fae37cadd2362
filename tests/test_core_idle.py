"""A core whose loop has nothing else to run waits for its next mailbox interrupt in C
(remote_fw/cpu_idle.py, cpu_idle.c), as a board's core sits in WFI. What a user must not
notice: every echo comes back, a firmware's own timers fire while its ISR sleeps there, the
watchdog leaves an idle core alone, and `stop` ends the core at once.
"""
from __future__ import annotations

import errno
import os
import select
import subprocess
import threading
import time
from pathlib import Path

import pytest

from c_clients import compile_client
from emulator_thread import with_firmware
from rpmsg_ioctl import create_ept

pytestmark = pytest.mark.timeout(120)

TICKER = '''
"""40 echoes. A message to 41 starts two tickers back to its sender, each 3 ticks 50 ms
apart: one on trio's clock (trio.sleep, a deadline of the core's loop), one on the core's
timer (ctx.sleep, a timerfd)."""
import trio


async def main(ctx):
    async def echo(ep, src, data):
        await ep.send(src, data)

    ctx.create_endpoint(40, echo)
    ticks = ctx.create_endpoint(41)
    src, _data = await ticks.recv()

    async def tick(name, sleep):
        for n in range(3):
            await sleep(0.05)
            await ticks.send(src, b"%s %d" % (name, n))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(tick, b"trio", trio.sleep)
        nursery.start_soon(tick, b"core", ctx.sleep)
'''


@pytest.fixture(scope="module")
def client_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_client("eptdev_queue", tmp_path_factory.mktemp("c"))


def core_of(emu, rproc_id: int):
    return emu.call(lambda: emu.emulator.kernel.rproc(rproc_id).core)


def sleeps_in_c(emu, rproc_id: int) -> int:
    """Kicks the core's ISR took from a sleep in C (cpu_idle.c `rung`)."""
    core = core_of(emu, rproc_id)
    return emu.call(lambda: core._run.cpu.idle.c.rung)


def echo(fd: int, message: bytes) -> None:
    """Write, and read the echo back (a crashed core never answers: fail, do not hang)."""
    os.write(fd, message)
    assert select.select([fd], [], [], 10)[0], f"no echo of {message!r}"
    assert os.read(fd, 512) == message


def test_an_echo_between_kicks_sleeps_in_c_and_every_message_comes_back(
        tmp_path: Path, client_exe: Path) -> None:
    emu = with_firmware(tmp_path, {9: "echo"}, {}, timing="fast")
    try:
        before = sleeps_in_c(emu, 9)
        node = emu.root / "dev" / create_ept(emu.root, "idle-echo", dst=14)
        done = subprocess.run([str(client_exe), str(node), "echo", "500"], capture_output=True,
                              text=True, timeout=60)
        assert done.stdout.splitlines() == ["echoed 500", "done"], done.stderr
        # Between two of the client's writes the core had nothing else to do: its ISR slept
        # in C and took the next kick there, in the same step of its loop. Not every time:
        # a kick already in the mailbox when the pass ends needs no wait (all on one CPU,
        # 389 of 500 were taken from the sleep; unpinned nearly all).
        assert sleeps_in_c(emu, 9) - before > 250
    finally:
        emu.stop()


def test_a_firmwares_timers_fire_while_its_isr_sleeps_in_c(tmp_path: Path) -> None:
    """After each echo the ISR sleeps in C, and no kick comes until the next tick has been
    read: the sleep must end at the loop's next deadline (trio.sleep) or when a timerfd fires
    (ctx.sleep), or the tickers would wait for a kick that never comes."""
    emu = with_firmware(tmp_path, {9: "ticker"}, {"ticker": TICKER}, timing="fast")
    try:
        echoes = os.open(emu.root / "dev" / create_ept(emu.root, "echoes", dst=40), os.O_RDWR)
        ticks = os.open(emu.root / "dev" / create_ept(emu.root, "ticks", dst=41), os.O_RDWR)
        echo(echoes, b"before")
        os.write(ticks, b"go")
        got: list[bytes] = []
        for _ in range(6):
            echo(echoes, b"between ticks")  # then the ISR sleeps in C until the next kick
            assert select.select([ticks], [], [], 5)[0], f"the tickers stopped after {got}"
            got.append(os.read(ticks, 512))
        assert sorted(got) == [b"core 0", b"core 1", b"core 2", b"trio 0", b"trio 1", b"trio 2"]
        os.close(ticks)
        os.close(echoes)
    finally:
        emu.stop()


def test_the_watchdog_leaves_a_core_asleep_in_c_alone(tmp_path: Path) -> None:
    emu = with_firmware(tmp_path, {9: "echo"}, {}, timing="fast",
                        core={9: {"watchdog_ms": 100}})
    try:
        fd = os.open(emu.root / "dev" / create_ept(emu.root, "watched", dst=14), os.O_RDWR)
        echo(fd, b"then idle")
        time.sleep(0.5)  # five watchdog periods with the ISR asleep in C
        # A core the watchdog took for stuck would have crashed; on K3 that is only logged
        # (k3_m4_rproc_mbox_callback) and the state stays "running", but it answers no more.
        echo(fd, b"still here")
        trace = emu.root / "sys/kernel/debug/remoteproc/remoteproc0/trace0"
        assert "watchdog" not in trace.read_text()
        os.close(fd)
    finally:
        emu.stop()


def test_stop_ends_a_core_whose_isr_sleeps_in_c_and_start_brings_it_back(tmp_path: Path) -> None:
    emu = with_firmware(tmp_path, {9: "echo"}, {}, timing="fast")
    try:
        core = core_of(emu, 9)
        thread_name = f"core {core.name}"
        fd = os.open(emu.root / "dev" / create_ept(emu.root, "stopped", dst=14), os.O_RDWR)
        echo(fd, b"asleep after this")
        state = emu.root / "sys/class/remoteproc/remoteproc0/state"
        with open(state, "w") as f:
            f.write("stop\n")
        deadline = time.monotonic() + 5
        while any(t.name == thread_name for t in threading.enumerate()):
            assert time.monotonic() < deadline, "the core's thread went on after stop"
            time.sleep(0.01)
        with pytest.raises(OSError) as stopped:
            os.write(fd, b"to a stopped core")
        assert stopped.value.errno == errno.EPIPE
        os.close(fd)
        with open(state, "w") as f:
            f.write("start\n")
        deadline = time.monotonic() + 10
        while not (emu.root / "dev/rpmsg_ctrl0").exists():
            assert time.monotonic() < deadline, "no rpmsg_ctrl0 after start"
            time.sleep(0.01)
        fd = os.open(emu.root / "dev" / create_ept(emu.root, "started", dst=14), os.O_RDWR)
        echo(fd, b"back")
        os.close(fd)
    finally:
        emu.stop()
