"""An idle core sleeps: nothing polls it, yet everything that used to poll still happens.

The fault timer sleeps until a plan's action is due or a new plan is injected; the watchdog
sleeps until a step of the core's loop could reach its limit, woken by the loop's next step;
a core's start-up counts as settled without waiting out a quiet period when none of its
timers is about to fire. Each test below is what a user would notice if one of these
wake-ups went missing: a plan injected into an idle core that never takes effect, a stuck
firmware the watchdog never catches, a service announced after a short pause at boot that is
missing once the core is reported ready.
"""
from __future__ import annotations

import time
from pathlib import Path

import trio

from remote_fw import CoreTiming, FaultPlan, RemoteCore
from remote_fw.faults import Faults
from test_remote_core import boot, eventually

IDLE_S = 0.3  # long enough for any periodic look of old (every 0.1 / 0.25 s) to have happened


async def test_a_plan_injected_into_an_idle_core_takes_effect(nursery):
    core = RemoteCore("r5f0")
    events = []
    core.on_fault = lambda kind, details: events.append((kind, details.get("name")))
    linux = await boot(nursery, core, "echo")
    await core.settled()
    assert set(linux.services) == {"ti.ipc4.ping-pong", "rpmsg_chrdev"}
    await trio.sleep(IDLE_S)
    core.inject(FaultPlan(withdraw="rpmsg_chrdev"))
    await linux.wait_for(lambda: "rpmsg_chrdev" not in linux.services, timeout=5)
    await trio.sleep(IDLE_S)
    core.inject(FaultPlan(crash_after=0.05))
    await eventually(lambda: core.state == "crashed", timeout=5)
    assert events == [("withdraw", "rpmsg_chrdev"), ("crash", None)]
    assert core.crash_reason == "firmware fault: InjectedCrash: injected crash after 0.05 s"


async def test_a_later_plan_replaces_a_pending_timed_action(nursery):
    """The timer sleeps towards the first plan's crash; the second plan wakes it, and the
    crash of the first never comes."""
    core = RemoteCore("r5f0", faults=FaultPlan(crash_after=1.0))
    linux = await boot(nursery, core, "echo")
    await core.settled()
    core.inject(FaultPlan(drop_tx=1))
    await trio.sleep(1.5)
    assert core.state == "running"
    await linux.send(1024, 14, b"lost")
    await linux.send(1024, 14, b"kept")
    assert await linux.wait_messages(1) == [(14, 1024, b"kept")]
    core.stop()


async def test_faults_wait_returns_when_a_plan_is_set_from_another_thread():
    faults = Faults(FaultPlan(reannounce_after=60.0))  # nothing due: no withdrawal to undo
    woke = []

    async def waiter() -> None:
        await faults.wait()
        woke.append(time.monotonic())

    async with trio.open_nursery() as tasks:
        tasks.start_soon(waiter)
        await trio.sleep(0.1)
        assert woke == []
        set_at = time.monotonic()
        await trio.to_thread.run_sync(faults.set, FaultPlan(crash_after=100.0))
        with trio.fail_after(5):
            while not woke:
                await trio.sleep(0.001)
    assert woke[0] >= set_at


STUCK_AFTER_IDLING = '''
import time

async def main(ctx):
    async def handle(ep, src, data):
        if data == b"spin":
            end = time.monotonic() + 30
            while time.monotonic() < end:
                pass
        await ep.send(src, data)
    ep = ctx.create_endpoint(20, handle)
    await ep.announce("rpmsg_chrdev")
'''


async def test_the_watchdog_catches_a_core_that_gets_stuck_after_idling(tmp_path: Path, nursery):
    (tmp_path / "stuck-fw.py").write_text(STUCK_AFTER_IDLING)
    core = RemoteCore("r5f0", firmware_dirs=[tmp_path], timing=CoreTiming(watchdog=0.5))
    reasons = []
    core.on_crash = reasons.append
    linux = await boot(nursery, core, "stuck-fw")
    await core.settled()
    await linux.send(1024, 20, b"hello")
    await linux.wait_messages(1)
    await trio.sleep(0.8)  # idle for longer than the limit: the watchdog sleeps
    assert core.state == "running"
    await linux.send(1024, 20, b"spin")
    await eventually(lambda: core.state == "crashed", timeout=10)
    assert reasons and reasons[0].startswith("firmware fault: watchdog: the firmware did not "
                                             "return for 0.5")


ANNOUNCES_WITH_PAUSES = '''
import trio

async def main(ctx):
    await ctx.create_endpoint(30).announce("first")
    await ctx.sleep(0.004)  # the core's own timer (timerfd)
    await ctx.create_endpoint(31).announce("second")
    await trio.sleep(0.003)  # a trio deadline
    await ctx.create_endpoint(32).announce("third")
'''


async def test_settled_waits_for_announcements_a_few_ms_apart(tmp_path: Path, nursery):
    """A pause shorter than the settle cushion (10 ms) does not end the start-up: each
    announcement has reached Linux once `settled` returns, every time."""
    (tmp_path / "pauses.py").write_text(ANNOUNCES_WITH_PAUSES)
    for _ in range(5):
        core = RemoteCore("r5f0", firmware_dirs=[tmp_path])
        linux = await boot(nursery, core, "pauses")
        with trio.fail_after(10):
            await core.settled()
        assert linux.services == {"first": 30, "second": 31, "third": 32}
        core.stop()
