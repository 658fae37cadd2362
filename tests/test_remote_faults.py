"""Fault injection on a remote core: losses, delay, a stall and crashes on demand, each one
reported to Linux. Driven the way the Linux side does it, through RemoteCore and the vrings."""
from __future__ import annotations

import time

import pytest
import trio

from remote_fw import FaultPlan, RemoteCore
from test_remote_core import boot, eventually


async def echoes(linux, count: int, src: int = 1024, dst: int = 14) -> None:
    for n in range(count):
        await linux.send(src, dst, b"%d" % n)


async def test_the_next_n_replies_are_lost_and_each_loss_is_reported(nursery):
    core = RemoteCore("r5f0", faults=FaultPlan(drop_tx=2))
    events = []
    core.on_fault = lambda kind, details: events.append((kind, details))
    linux = await boot(nursery, core, "echo")
    await linux.wait_for(lambda: len(linux.services) == 2)
    await echoes(linux, 5)
    await linux.wait_messages(3)
    await trio.sleep(0.05)
    assert [p for _s, _d, p in linux.messages] == [b"2", b"3", b"4"]
    assert events == [("drop", {"dir": "rx", "src": 14, "dst": 1024, "len": 1})] * 2
    assert core.trace_text().count("injected fault: drop") == 2
    core.stop()


async def test_a_fraction_of_messages_to_one_endpoint_is_dropped_reproducibly(nursery):
    plan = FaultPlan(drop_rx_fraction=0.5, endpoint=14, seed=7)
    lost = []
    for _ in range(2):
        core = RemoteCore("r5f0", faults=plan)
        linux = await boot(nursery, core, "echo")
        await linux.wait_for(lambda: len(linux.services) == 2)
        await echoes(linux, 40, dst=14)
        await echoes(linux, 10, dst=13)  # the other endpoint loses nothing
        await eventually(lambda: sum(d == 1024 and s == 13 for s, d, _p in linux.messages) == 10)
        await trio.sleep(0.05)
        got = {p for s, _d, p in linux.messages if s == 14}
        lost.append(sorted({b"%d" % n for n in range(40)} - got))
        core.stop()
    assert lost[0] == lost[1] and 5 < len(lost[0]) < 35  # seeded: the same messages


async def test_delay_and_jitter_hold_each_message(nursery):
    core = RemoteCore("r5f0", faults=FaultPlan(delay=0.02, jitter=0.01))
    linux = await boot(nursery, core, "echo")
    await linux.wait_for(lambda: len(linux.services) == 2)
    t0 = time.monotonic()
    await echoes(linux, 5)
    await linux.wait_messages(5)
    assert 5 * 0.02 <= time.monotonic() - t0 < 5 * 0.03 + 1.0
    core.stop()


async def test_a_stalled_core_lets_linux_tx_ring_fill_and_resumes(nursery):
    core = RemoteCore("r5f0", num_bufs=8, faults=FaultPlan(stall=True))
    linux = await boot(nursery, core, "echo")
    await linux.wait_for(lambda: len(linux.services) == 2)
    sent = 0
    while linux.host.send(1024, 14, b"%d" % sent):
        sent += 1
    assert sent == 8 and not linux.host.can_send()  # EAGAIN for a non-blocking writer
    await trio.sleep(0.05)
    assert linux.messages == []
    core.inject(FaultPlan())  # the stall ends: everything is taken and answered
    await linux.wait_messages(8)
    assert linux.host.can_send()
    core.stop()


@pytest.mark.parametrize("plan, why", [
    (FaultPlan(crash_at_message=3), "injected crash at message 3"),
    (FaultPlan(crash_after=0.1), "injected crash after 0.1 s"),
])
async def test_a_planned_crash_faults_the_core(nursery, plan, why):
    core = RemoteCore("r5f0", faults=plan)
    reasons, events = [], []
    core.on_crash = reasons.append
    core.on_fault = lambda kind, details: events.append(kind)
    linux = await boot(nursery, core, "echo")
    await linux.wait_for(lambda: len(linux.services) == 2)
    if plan.crash_at_message:
        # One at a time: a reply still inside its modelled interrupt latency when the core
        # dies never gets its kick, so the third is sent only once two are answered.
        await echoes(linux, 1)
        await linux.wait_messages(1)
        await echoes(linux, 1)
        await linux.wait_messages(2)
        await echoes(linux, 1)
    await eventually(lambda: core.state == "crashed")
    assert reasons == [f"firmware fault: InjectedCrash: {why}"]
    assert events == ["crash"]
    if plan.crash_at_message:
        assert len(linux.messages) == 2  # two answered, the third crashed the core


def test_plans_that_can_never_work_are_refused():
    for bad in ({"drop_rx": -1}, {"drop_tx_fraction": 1.5}, {"delay": float("nan")},
                {"crash_at_message": True}):
        with pytest.raises(ValueError):
            FaultPlan(**bad)


async def test_a_service_is_withdrawn_and_announced_again(nursery):
    core = RemoteCore("r5f0")
    events = []
    core.on_fault = lambda kind, details: events.append((kind, details["name"]))
    linux = await boot(nursery, core, "echo")
    await linux.wait_for(lambda: len(linux.services) == 2)
    core.inject(FaultPlan(withdraw="rpmsg_chrdev", reannounce_after=0.2))
    await linux.wait_for(lambda: "rpmsg_chrdev" not in linux.services)
    assert linux.services == {"ti.ipc4.ping-pong": 13}
    await linux.wait_for(lambda: "rpmsg_chrdev" in linux.services)
    assert events == [("withdraw", "rpmsg_chrdev"), ("announce", "rpmsg_chrdev")]
    await linux.send(1024, 14, b"back")  # the same endpoint answers again
    assert await linux.wait_messages(1) == [(14, 1024, b"back")]
    core.stop()
