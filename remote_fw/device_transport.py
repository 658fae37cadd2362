"""The remote core's end of the rpmsg link: its mailbox ISR, taking messages Linux posted and
filling the buffers Linux lent it. Only the shared memory and the two mailboxes are touched.

Runs in the core's own thread and trio loop (remote_fw/cpu.py). Linux's thread writes the same
rings at the same time, so every "ask to be notified" (avail_event) is followed by a second
look at the ring, as virtio drivers do after enabling notifications: a buffer posted between
the two is never left waiting for a kick that will not come.

The ISR runs the core's RX pass itself, in the step that takes Linux's kick, as a core's
mailbox interrupt handler would hand the message to its receive code: handing it to another
task cost a second pass of the core's loop per message (20-40 µs here; docs/benchmarks.md,
"Issue 14: the thread hand-over, profiled"). On the board the interrupt still preempts a
receive task that waits; here a standby task takes the interrupts while the pass waits.
"""

from __future__ import annotations

import logging
import time
import types
from typing import Any, Callable, Coroutine, Generator

import trio

from .cpu_idle import CpuIdle
from .deadline_timer import DeadlineTimer
from .faults import Faults
from .kick_queue import KickQueue
from .mailbox import InterruptLine, Mailbox
from .rpmsg_header import RPMSG_HDR_SIZE
from .shared_memory import VRING_HOST_TO_REMOTE, VRING_REMOTE_TO_HOST, SharedMemory
from .timing import CoreTiming
from .vring import new_index

log = logging.getLogger(__name__)

MESSAGES_PER_CHECKPOINT = 64
"""A core sending back to back from one task (a streaming firmware), or taking messages that
Linux keeps posting (a sink fed by a fast writer: the RX pass always finds another), lets its
own ISR and other tasks run after this many; its watchdog counts a loop that never comes back
as stuck (seen for the RX pass: `write` ETIMEDOUT after ~14 000 messages of 496 bytes)."""


LATE_ABSORBED = 0.001
"""A core that wakes up to this much after a modelled deadline acts as if it had been on time."""


class Pacer:
    """The core's modelled CPU time: work is charged back to back from when the core is free."""

    def __init__(self, timer: DeadlineTimer) -> None:
        self.timer = timer
        self.busy_until = 0.0

    def now(self) -> float:
        """The model's present: the end of the work just done when the thread woke up late
        for it (its lateness is the emulator's, not the core's), else the clock."""
        now = time.monotonic()
        return self.busy_until if 0.0 <= now - self.busy_until < LATE_ABSORBED else now

    async def spend(self, seconds: float, start: float | None = None) -> None:
        """Be busy for `seconds` from `start` (default now), after earlier work."""
        begin = max(self.busy_until, time.monotonic() if start is None else start)
        self.busy_until = begin + seconds
        await self.timer.sleep_until(self.busy_until)


RxPass = Callable[[float], Coroutine[Any, Any, None]]
"""The core's RX pass: drain the inbound ring; its argument is when the kick's interrupt came."""


@types.coroutine
def _lend_while_waiting(coro: Coroutine[Any, Any, None], lend: Callable[[], None]) -> Generator[Any, Any, None]:
    """`await coro`, calling `lend()` the first time it waits (gives trio's loop back): a
    pass that never waits, as a fast-mode echo's, pays one call and nothing else. trio
    resumes a task with send() only; throw() and close() are passed on as `await` would."""
    try:
        trap = coro.send(None)
    except StopIteration:
        return
    lend()
    while True:
        try:
            resumed = yield trap
        except BaseException as exc:  # passed on as `await` would
            try:
                trap = coro.throw(exc)
            except StopIteration:
                return
        else:
            try:
                trap = coro.send(resumed)
            except StopIteration:
                return


class DeviceTransport:
    def __init__(
        self,
        shm: SharedMemory,
        from_host: Mailbox,
        to_host: Mailbox,
        timing: CoreTiming | None = None,
        timer: DeadlineTimer | None = None,
        faults: Faults | None = None,
        idle: CpuIdle | None = None,
    ) -> None:
        self.mtu = shm.buf_size - RPMSG_HDR_SIZE
        self.timing = timing or CoreTiming()
        self.timer = timer or DeadlineTimer()
        self.faults = faults or Faults()
        self.pacer = Pacer(self.timer)
        self._shm = shm
        self._inbound = shm.vrings[VRING_HOST_TO_REMOTE]
        self._outbound = shm.vrings[VRING_REMOTE_TO_HOST]
        self._from_host = from_host
        self._idle = idle
        self._kicks = KickQueue(to_host, self.timing.irq_latency, self.timer.sleep_until)
        self._in_last_avail = new_index()
        self._out_last_avail = new_index()
        self._sent_since_checkpoint = 0
        self._rx_kicked = False
        self.rx_kick_time = 0.0
        """When the ISR took the latest inbound kick (modelled: kick + irq_latency)."""
        self._buffer_waiters = trio.lowlevel.ParkingLot()
        self._lent = False
        """The RX pass waits: the standby ISR holds the interrupt line."""
        self._standby = trio.lowlevel.ParkingLot()
        self._standby_busy = False
        self._standby_done = trio.lowlevel.ParkingLot()

    @property
    def kicks_idle(self) -> bool:
        """Every kick towards Linux has been posted (none waits for its latency or a slot)."""
        return self._kicks.idle

    async def run_isr(self, rx_pass: RxPass | None = None) -> None:
        """The core's mailbox interrupt, each kick `irq_latency` after Linux posted it; also
        posts the core's own kicks.

        A kick of the inbound vring runs `rx_pass(when the interrupt came)` right here, in
        the step that took the kick, and again while more came during it: no other task is
        woken for it, so a fast-mode reply costs no second pass of the core's loop. A kick of
        Linux's RX ring wakes the senders waiting for one of its buffers. While the pass
        waits (an async callback that waits, modelled processing time, a stall), the
        standby ISR (`_standby_isr`) takes kicks instead, so a callback waiting for Linux's
        buffers still hears of them. Without `rx_pass` inbound kicks are only noted (a test
        that calls take_received itself). With `idle` (the core's CpuIdle), the wait for the
        next kick is in C while nothing else of the loop can run (cpu_idle.py).
        """
        mailbox, latency, idle = self._from_host, self.timing.irq_latency, self._idle
        if idle is not None:
            idle.serve()
        irq = InterruptLine()
        standby = irq.dup()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._kicks.run)
                nursery.start_soon(self._standby_isr, standby)
                mailbox.attach(irq)
                try:
                    while True:
                        entry = mailbox.take()
                        if entry is None:
                            if idle is None or not idle.wait_for_interrupt(irq.fd):
                                await irq.wait()
                            continue
                        vring, posted = entry
                        if latency:
                            await self.timer.sleep_until(posted + latency)
                        self._isr(vring, posted + latency)
                        while self._rx_kicked and rx_pass is not None:
                            self._rx_kicked = False
                            await _lend_while_waiting(rx_pass(self.rx_kick_time), self._lend)
                            if self._lent:
                                await self._take_line_back()
                finally:
                    mailbox.attach(None)
        finally:
            irq.close()
            standby.close()

    def _lend(self) -> None:
        """The RX pass waits: the standby ISR takes the interrupt line until it is back."""
        self._lent = True
        self._standby.unpark()

    async def _take_line_back(self) -> None:
        """After the RX pass: once the standby has finished the kick it holds (in its
        modelled latency), kicks are the main ISR's again, in the order they came."""
        self._lent = False
        while self._standby_busy:
            await self._standby_done.park()

    async def _standby_isr(self, line: InterruptLine) -> None:
        """The ISR while the RX pass waits (`_lend`): the same handling on its own handle of
        the line. It leaves the line's ring to the main ISR once that has it back (both may
        wake for one ring; only the line's holder clears it)."""
        mailbox, latency = self._from_host, self.timing.irq_latency
        while True:
            if not self._lent:
                await self._standby.park()
                continue
            entry = mailbox.take()
            if entry is None:
                await line.rung()
                if self._lent:
                    line.clear()
                continue
            vring, posted = entry
            self._standby_busy = True
            try:
                if latency:
                    await self.timer.sleep_until(posted + latency)
                self._isr(vring, posted + latency)
            finally:
                self._standby_busy = False
                self._standby_done.unpark_all()

    def _isr(self, vring: int, when: float) -> None:
        if vring == VRING_HOST_TO_REMOTE:
            self._rx_kicked = True
            self.rx_kick_time = when
        elif vring == VRING_REMOTE_TO_HOST:
            self._buffer_waiters.unpark_all()
        else:
            log.warning("%s: kick for unknown vring %d ignored", self._from_host.name, vring)

    def take_received(self) -> list[tuple[int, int, bytes]]:
        """Copy out every message Linux posted, give the buffers back, notify Linux if it asked.

        Returns [(src, dst, payload)] in ring order; empty when nothing is pending, in which
        case Linux is asked (avail_event) to kick on its next post.
        """
        ring, last = self._inbound, self._in_last_avail
        avail = ring.avail_idx()
        if last[0] == avail:
            ring.avail_event = avail
            avail = ring.avail_idx()  # posted while we asked? then take it now
            if last[0] == avail:
                return []
        messages, notify = ring.take_avail(last, avail)  # header, copy, used ring: in C
        if notify:
            self._kicks.kick(VRING_HOST_TO_REMOTE)
        return messages

    def try_send(self, src: int, dst: int, payload: bytes) -> bool:
        """Fill one of Linux's RX buffers at once; False (nothing sent) while none is posted."""
        kick = self._outbound.fill(self._out_last_avail, src, dst, payload)  # in C
        if kick:
            self._kicks.kick(VRING_REMOTE_TO_HOST, self.pacer.now())
        return kick is not None

    async def send(self, src: int, dst: int, payload: bytes) -> None:
        """Fill one of Linux's RX buffers (after the modelled copy); wait while Linux has none
        posted."""
        if self.timing.per_byte:
            await self.pacer.spend(self.timing.per_byte * len(payload))
        faults = self.faults
        if faults.touch_messages and not faults.outbound(src, dst, len(payload)):
            return  # injected loss: the message never reaches Linux
        while not self.try_send(src, dst, payload):
            ring = self._outbound
            ring.avail_event = self._out_last_avail[0]
            if self._out_last_avail[0] != ring.avail_idx():  # reposted while we asked
                continue
            await self._buffer_waiters.park()
        self._sent_since_checkpoint += 1
        if self._sent_since_checkpoint >= MESSAGES_PER_CHECKPOINT:
            self._sent_since_checkpoint = 0
            await trio.lowlevel.checkpoint()
