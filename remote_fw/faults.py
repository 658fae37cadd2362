"""Fault injection: what a remote core can do to Linux beyond what hardware offers.

rpmsg has no retransmission, so applications must cope with lost messages and stalls; a
`FaultPlan` lets a test make the core drop messages (the next N, or a fraction) in either
direction, add delay and jitter, stall (stop taking messages, so Linux's TX ring fills), or
crash at the Nth message or after some time. Each plan may be limited to one core address.
Name-service messages (address 53) are never dropped, delayed or counted.
It can also withdraw an announced service and announce it again later. Every injected fault
is reported through `Faults.report` (Linux shows it in its trace).

The plan is set from Linux's thread and read by the core's: `Faults.set` swaps in a new plan
and fresh counters at once, and wakes the core's fault timer if it sleeps in `Faults.wait`;
everything else runs on the core's thread.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, fields
from typing import Any, Callable

import trio

from .rpmsg_header import RPMSG_NS_ADDR


class InjectedCrash(Exception):
    """Raised on the core's thread when a plan says the core crashes now."""


@dataclass(frozen=True)
class FaultPlan:
    drop_rx: int = 0
    """Drop the next N messages Linux sends to the core."""
    drop_rx_fraction: float = 0.0
    """Then drop each message from Linux with this probability."""
    drop_tx: int = 0
    """Drop the next N messages the core sends to Linux."""
    drop_tx_fraction: float = 0.0
    delay: float = 0.0
    """Seconds added before the core handles each message from Linux."""
    jitter: float = 0.0
    """Up to this many more seconds, uniformly at random, per message."""
    stall: bool = False
    """The core takes no message from Linux while set; Linux's TX ring fills."""
    crash_at_message: int = 0
    """Crash on the Nth message from Linux (1 = the next one; 0 = never)."""
    crash_after: float = 0.0
    """Crash this many seconds after the plan is set (0 = never)."""
    withdraw: str = ""
    """Withdraw this announced service ("*": every one) when the plan is set."""
    reannounce_after: float = 0.0
    """Announce the withdrawn services again this many seconds after withdrawing them
    (0 = never)."""
    endpoint: int | None = None
    """Only messages to (from Linux) or from (to Linux) this core address."""
    seed: int | None = None
    """For drop fractions and jitter: the same seed, the same faults."""

    def __post_init__(self) -> None:
        for name in ("drop_rx", "drop_tx", "crash_at_message"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"fault {name} must be an integer ≥ 0, not {value!r}")
        for name in ("drop_rx_fraction", "drop_tx_fraction"):
            value = getattr(self, name)
            if not _number(value) or not 0.0 <= value <= 1.0:
                raise ValueError(f"fault {name} must be a number from 0 to 1, not {value!r}")
        if not isinstance(self.withdraw, str):
            raise ValueError(f"fault withdraw must be a service name or '*', not {self.withdraw!r}")
        for name in ("delay", "jitter", "crash_after", "reannounce_after"):
            value = getattr(self, name)
            if not _number(value) or value < 0:
                raise ValueError(f"fault {name} must be a finite number ≥ 0, not {value!r}")

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def active(self) -> bool:
        return self != FaultPlan(endpoint=self.endpoint, seed=self.seed)


def _number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


class Faults:
    """The plan in force on one core, with its counters."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self.report: Callable[[str, dict[str, Any]], None] = lambda kind, details: None
        """report(kind, details): set by the core; called on the core's thread."""
        self._state = _State(plan or FaultPlan())
        self._on_set: Callable[[], None] | None = None

    @property
    def plan(self) -> FaultPlan:
        return self._state.plan

    def set(self, plan: FaultPlan) -> None:
        """Replace the plan (any thread): counters start again from the new plan, and a
        `wait` in progress returns."""
        self._state = _State(plan)
        on_set = self._on_set
        if on_set is not None:
            on_set()

    async def wait(self) -> None:
        """In the core's loop: sleep until the plan's next timed action is due (at once for a
        withdrawal not yet made) or until `set` puts in a new plan, from any thread. Without a
        timed action it sleeps until then: an idle core does not wake for fault injection."""
        state = self._state
        token = trio.lowlevel.current_trio_token()
        changed = trio.Event()

        def on_set() -> None:  # in the thread that called set()
            try:
                token.run_sync_soon(changed.set)
            except trio.RunFinishedError:
                pass

        self._on_set = on_set
        try:
            if self._state is not state:  # set() came first and may have missed on_set
                return
            due = state.next_due()
            deadline = math.inf if due is None else trio.current_time() + due - time.monotonic()
            with trio.move_on_at(deadline):
                await changed.wait()
        finally:
            if self._on_set is on_set:
                self._on_set = None

    @property
    def stalled(self) -> bool:
        return self._state.plan.stall

    @property
    def touch_messages(self) -> bool:
        """Does the plan drop, delay or crash on messages? If not, `inbound`, `outbound` and
        `extra_delay` would only count: the per-message path skips them."""
        return self._state.touch_messages

    def withdrawals(self, now: float, announced: list[str]) -> tuple[list[str], list[str]]:
        """(names to withdraw now, names to announce again now), each once per plan."""
        state = self._state
        plan = state.plan
        withdraw: list[str] = []
        if plan.withdraw and state.withdrawn is None:
            state.withdrawn = [n for n in announced if plan.withdraw in ("*", n)]
            state.withdrawn_at = now
            withdraw = state.withdrawn
            for name in withdraw:
                self.report("withdraw", {"name": name})
        again: list[str] = []
        if (plan.reannounce_after and state.withdrawn and not state.reannounced
                and now - state.withdrawn_at >= plan.reannounce_after):
            state.reannounced = True
            again = state.withdrawn
            for name in again:
                self.report("announce", {"name": name})
        return withdraw, again

    def crash_due(self, now: float) -> bool:
        state = self._state
        return bool(state.plan.crash_after) and now - state.since >= state.plan.crash_after

    def inbound(self, src: int, dst: int, length: int) -> bool:
        """A message from Linux is about to be handled: False when it is dropped. Raises
        InjectedCrash at the planned message."""
        state = self._state
        plan = state.plan
        if dst == RPMSG_NS_ADDR or (plan.endpoint is not None and dst != plan.endpoint):
            return True
        state.received += 1
        if plan.crash_at_message and state.received >= plan.crash_at_message:
            self.report("crash", {"at_message": state.received, "dst": dst})
            raise InjectedCrash(f"injected crash at message {state.received}")
        if state.drop_rx > 0 or (plan.drop_rx_fraction and
                                 state.rng.random() < plan.drop_rx_fraction):
            state.drop_rx = max(0, state.drop_rx - 1)
            self.report("drop", {"dir": "tx", "src": src, "dst": dst, "len": length})
            return False
        return True

    def outbound(self, src: int, dst: int, length: int) -> bool:
        """A message to Linux is about to be sent: False when it is dropped."""
        state = self._state
        plan = state.plan
        if dst == RPMSG_NS_ADDR or (plan.endpoint is not None and src != plan.endpoint):
            return True
        if state.drop_tx > 0 or (plan.drop_tx_fraction and
                                 state.rng.random() < plan.drop_tx_fraction):
            state.drop_tx = max(0, state.drop_tx - 1)
            self.report("drop", {"dir": "rx", "src": src, "dst": dst, "len": length})
            return False
        return True

    def extra_delay(self, dst: int) -> float:
        """Seconds of injected delay before handling a message to `dst`."""
        state = self._state
        plan = state.plan
        if dst == RPMSG_NS_ADDR or (plan.endpoint is not None and dst != plan.endpoint):
            return 0.0
        extra = plan.delay + (state.rng.uniform(0.0, plan.jitter) if plan.jitter else 0.0)
        if extra:
            self.report("delay", {"dst": dst, "us": round(extra * 1e6, 1)})
        return extra


class _State:
    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.touch_messages = bool(plan.drop_rx or plan.drop_rx_fraction or plan.drop_tx
                                   or plan.drop_tx_fraction or plan.delay or plan.jitter
                                   or plan.crash_at_message)
        self.since = time.monotonic()
        self.received = 0
        self.drop_rx = plan.drop_rx
        self.drop_tx = plan.drop_tx
        self.rng = random.Random(plan.seed)
        self.withdrawn: list[str] | None = None
        self.withdrawn_at = 0.0
        self.reannounced = False

    def next_due(self) -> float | None:
        """time.monotonic() at which the plan's next timed action is due; None: none left."""
        plan = self.plan
        due: list[float] = []
        if plan.crash_after:
            due.append(self.since + plan.crash_after)
        if plan.withdraw and self.withdrawn is None:
            due.append(self.since)
        if plan.reannounce_after and self.withdrawn and not self.reannounced:
            due.append(self.withdrawn_at + plan.reannounce_after)
        return min(due, default=None)
