"""RemoteCore: one remote processor (R5F, M4F, C7x…) running a firmware on its own CPU.

States: offline → running → crashed (or back to offline on stop). Each start builds fresh
shared memory, mailboxes and transports, so nothing from an earlier run can leak into the next,
and runs the firmware in a new thread with its own trio loop (remote_fw/cpu.py). Linux's side
keeps one supervisor task per run in the caller's nursery: it is the core's watchdog, and
cancelling it (the emulator shutting down) powers the core off. stop() and crash() are
synchronous: the run is severed from Linux at once, its thread ends at its next await.
"""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

import trio

from .cpu import CoreCpu
from .deadline_timer import DeadlineTimer
from .dma_buffers import DmaMappingTable
from .device_transport import MESSAGES_PER_CHECKPOINT, DeviceTransport, RxPass
from .endpoint import Endpoint, EndpointTable
from .faults import FaultPlan, Faults, InjectedCrash
from .firmware_api import FirmwareContext
from .firmware_loader import LoadedFirmware, load_firmware
from .host_transport import HostTransport
from .loop_quiet import wait_all_tasks_blocked, wait_quiet
from .mailbox import Mailbox
from .shared_memory import SharedMemory
from .timing import CoreTiming
from .trace_buffer import TraceBuffer

log = logging.getLogger(__name__)

OFFLINE = "offline"
RUNNING = "running"
CRASHED = "crashed"
FAULT_LOOK = 0.005  # seconds after a new plan (or a timed action's due time) it is acted on
SETTLE_RETRY = 0.001  # seconds between two looks at a core's mailbox to Linux while settling


class _Run:
    """Everything belonging to one start() of the core."""

    def __init__(self, core: RemoteCore, firmware: LoadedFirmware, config: dict[str, Any]) -> None:
        self.firmware = firmware
        self.config = config
        self.shm = SharedMemory(core.num_bufs, core.buf_size)
        self.to_remote = Mailbox(f"{core.name} mbox rx")
        self.to_host = Mailbox(f"{core.name} mbox tx")
        self.host = HostTransport(self.shm, self.to_remote, self.to_host)
        self.trace = TraceBuffer()
        self.supervisor = trio.CancelScope()
        self.cpu: CoreCpu | None = None
        self.started_up = trio.Event()  # set in Linux's loop once the core's loop went quiet
        self.linux: trio.lowlevel.TrioToken | None = None

    def sever(self) -> None:
        """Cut the run off from Linux for good; its thread may still be running."""
        self.to_remote.sever()
        self.to_host.sever()
        self.supervisor.cancel()
        if self.cpu is not None:
            self.cpu.abandon()


class RemoteCore:
    on_crash: Callable[[str], None] | None
    """Called in Linux's loop with the reason when the firmware faults (any exception, or
    the watchdog) and the core crashes; not for crash() calls Linux makes itself."""

    def __init__(
        self,
        name: str,
        *,
        num_bufs: int = 256,
        buf_size: int = 512,
        firmware_dirs: Sequence[Path] = (),
        timing: CoreTiming | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        SharedMemory(num_bufs, buf_size)  # validate the geometry now, not at first start
        self.name = name
        self.num_bufs = num_bufs
        self.buf_size = buf_size
        self.firmware_dirs = tuple(Path(d) for d in firmware_dirs)
        self.timing = timing or CoreTiming()
        self.faults = Faults(faults)
        """The fault-injection plan in force (remote_fw/faults.py); `inject` changes it."""
        self.on_fault: Callable[[str, dict[str, Any]], None] | None = None
        """Called in Linux's loop as on_fault(kind, details) for every injected fault."""
        self.state = OFFLINE
        self.crash_reason: str | None = None
        self.on_crash = None
        self.dma = DmaMappingTable(name)  # what Linux mapped for the core (dma-buf attach)
        self._run: _Run | None = None
        self._last_trace: TraceBuffer | None = None
        self._last_firmware: str | None = None

    def __repr__(self) -> str:
        return f"<RemoteCore {self.name} {self.state} firmware={self.firmware_name!r}>"

    @property
    def host(self) -> HostTransport | None:
        """The Linux end of the transport for the current run; None unless running."""
        return self._run.host if self._run is not None else None

    @property
    def firmware_name(self) -> str | None:
        return self._last_firmware

    def trace_text(self) -> str:
        """The trace buffer of the current (or last) run; kept after a crash for post-mortems."""
        return self._last_trace.text() if self._last_trace is not None else ""

    def start(self, nursery: trio.Nursery, firmware: str, config: dict[str, Any] | None = None) -> None:
        """Load `firmware` and boot it on the core's own thread; the watchdog runs in
        `nursery`. Raises the loader's OSError (EINVAL/ENOENT) at once, leaving the core as
        it was."""
        if self.state == RUNNING:
            raise RuntimeError(f"{self.name} is already running")
        loaded = load_firmware(firmware, self.firmware_dirs)
        run = _Run(self, loaded, dict(config or {}))
        linux = trio.lowlevel.current_trio_token()

        def on_exit(error: BaseException | None) -> None:  # in the core's thread
            try:
                linux.run_sync_soon(self._cpu_exited, run, error)
            except trio.RunFinishedError:
                pass

        def report(kind: str, details: dict[str, Any]) -> None:  # in the core's thread
            run.trace.write(f"injected fault: {kind} {details}")
            try:
                linux.run_sync_soon(self._fault_event, run, kind, details)
            except trio.RunFinishedError:
                pass

        self.faults.set(self.faults.plan)  # fresh counters for every boot
        self.faults.report = report
        run.cpu = CoreCpu(self.name, lambda: self._program(run), on_exit)
        run.linux = linux
        self._run = run
        self._last_trace = run.trace
        self._last_firmware = firmware
        self.state = RUNNING
        self.crash_reason = None
        run.trace.write(f"{self.name}: booting {firmware} ({loaded.origin})")
        log.info("%s: started firmware %s from %s", self.name, firmware, loaded.origin)
        run.cpu.start()
        nursery.start_soon(self._supervise, run, name=f"{self.name}:watchdog")

    async def settled(self) -> None:
        """Wait until the firmware's start-up has finished and everything it announced has
        been delivered to Linux and processed there.

        The meaning, which every implementation of the core keeps: `main` has returned or
        waits for something only others or time can give (a message, its own timer), and
        every message and kick the core sent so far has been taken by Linux's side and acted
        on (name-service announcements have become channels and their devices). Returns at
        once when the core is not running, or when it stops meanwhile. A firmware that never
        stops sending never settles: callers bound the wait with their own timeout. The
        kernel's boot awaits it core by core, so devices are numbered in the board's order.

        How: the core's own loop reports the first moment none of its tasks can run and
        none of its timers is due within 10 ms (`_report_started_up`, after its kicks have
        all been posted; remote_fw/loop_quiet.py); then Linux's loop runs
        until none of its tasks can run, with the core's mailbox to Linux empty: Linux's
        ISR takes each kick and handles it (name service, channels, devices) in the same
        step, so an empty mailbox means all of it has been acted on. No quiet period is asked
        of Linux's loop: a user listing /dev every few ms (FUSE requests) would never leave
        it quiet for long, and each core's boot would wait out BOOT_SETTLE_TIMEOUT.
        """
        run = self._run
        if run is None:
            return
        await run.started_up.wait()
        while self._run is run:
            await wait_all_tasks_blocked()
            if not len(run.to_host):
                return
            await trio.sleep(SETTLE_RETRY)  # a kick rung meanwhile: Linux's ISR takes it

    def inject(self, plan: FaultPlan) -> None:
        """Put a fault-injection plan in force now (FaultPlan() clears it)."""
        self.faults.set(plan)

    def _fault_event(self, run: _Run, kind: str, details: dict[str, Any]) -> None:
        if self.on_fault is not None and self._run is run:
            try:
                self.on_fault(kind, details)
            except Exception:
                log.exception("%s: reporting an injected fault failed", self.name)

    def stop(self) -> None:
        """Power the core off; its thread ends at its next await. No-op when already offline."""
        self._end(OFFLINE)

    def crash(self, reason: str = "crash requested") -> None:
        """Crash the running core now (as debugfs `crash` does): it stops mid-flight."""
        if self.state != RUNNING:
            raise RuntimeError(f"{self.name} is {self.state}; only a running core can crash")
        self.crash_reason = reason
        self._end(CRASHED)
        log.warning("%s: crashed: %s", self.name, reason)

    def _end(self, state: str) -> None:
        run, self._run = self._run, None
        if run is not None:
            run.sever()
            run.started_up.set()  # nothing more will come: a waiting settled() returns
            run.trace.write(f"{self.name}: {state}" + (f": {self.crash_reason}" if state == CRASHED else ""))
        self.state = state

    def _fault(self, run: _Run, reason: str) -> None:
        """The firmware faulted: the core crashes, Linux hears of it through on_crash."""
        if self._run is not run:
            return
        self.crash(f"firmware fault: {reason}")
        if self.on_crash is not None:
            self.on_crash(self.crash_reason or reason)

    # ---- Linux's side of the run ---------------------------------------------------------

    async def _supervise(self, run: _Run) -> None:
        """The core's watchdog: a firmware that keeps its loop from coming back for
        `timing.watchdog` seconds (a blocking call, a spin) crashes the core. It wakes when a
        step of the core's loop would reach the limit, never while the core is idle."""
        limit = self.timing.watchdog
        try:
            with run.supervisor:
                assert run.cpu is not None  # start() sets it before starting the watchdog
                stuck = await run.cpu.wait_stuck(limit)
                run.trace.write(f"{self.name}: watchdog expired ({stuck:.2f} s in one step)")
                self._fault(run, f"watchdog: the firmware did not return for {stuck:.2f} s")
        finally:
            if self._run is run:  # cancelled from outside (the emulator shutting down)
                self._end(OFFLINE)

    def _cpu_exited(self, run: _Run, error: BaseException | None) -> None:
        """Linux's loop learns that the core's thread ended (error: what ended it). Runs from
        trio's entry queue, where an exception would end Linux's loop: none may escape."""
        if self._run is not run:
            return
        try:
            if error is None:
                self._fault(run, "the firmware's loop ended")
                return
            run.trace.write("".join(traceback.format_exception(error)).rstrip())
            self._fault(run, _describe(error))
        except Exception:
            log.exception("%s: handling the core's fault failed", self.name)

    # ---- the core's own thread -----------------------------------------------------------

    async def _program(self, run: _Run) -> None:
        """What the core's CPU runs: its mailbox ISR (which runs the RX pass) and the
        firmware's main."""
        timer = DeadlineTimer()
        device = DeviceTransport(run.shm, run.to_remote, run.to_host, self.timing, timer,
                                 self.faults, run.cpu.idle if run.cpu is not None else None)
        endpoints = EndpointTable(device, run.trace)
        ctx = FirmwareContext(self.name, run.config, endpoints, run.trace, self.dma)
        try:
            async with trio.open_nursery() as tasks:
                tasks.start_soon(device.run_isr, self._rx_pass(device, endpoints),
                                 name=f"{self.name}:isr")
                tasks.start_soon(run.firmware.main, ctx, name=f"{self.name}:main")
                tasks.start_soon(self._fault_timer, endpoints, name=f"{self.name}:faults")
                tasks.start_soon(self._report_started_up, run, device, name=f"{self.name}:settle")
        finally:
            timer.close()

    async def _report_started_up(self, run: _Run, device: DeviceTransport) -> None:
        """In the core's loop: once none of its tasks can run (main returned or waits), no
        kick waits for its modelled latency and no timer of the loop is about to fire
        (loop_quiet.py), tell Linux's loop (whose `settled` then waits for the mailbox to
        Linux to be empty: the doorbells are eventfds, not ordered with the entry queue)."""
        await wait_quiet(device.timer, lambda: device.kicks_idle)
        if run.linux is not None:
            try:
                run.linux.run_sync_soon(run.started_up.set)
            except trio.RunFinishedError:
                pass

    async def _fault_timer(self, endpoints: EndpointTable) -> None:
        """A plan's timed actions: withdraw a service and announce it again, crash after T.
        Sleeps until one is due or a new plan is set (Faults.wait), then looks FAULT_LOOK
        later (at boot: once main had time to announce what a withdrawal may name)."""
        faults = self.faults
        withdrawn: dict[str, Endpoint] = {}
        while True:
            await faults.wait()
            await trio.sleep(FAULT_LOOK)
            now = time.monotonic()
            withdraw, again = faults.withdrawals(now, list(endpoints.announced))
            for name in withdraw:
                withdrawn[name] = endpoints.announced[name]
                await withdrawn[name].withdraw(name)
            for name in again:
                ep = withdrawn.pop(name, None)
                if ep is not None and not ep.closed:
                    await ep.announce(name)
            if faults.crash_due(now):
                faults.report("crash", {"after_s": faults.plan.crash_after})
                raise InjectedCrash(f"injected crash after {faults.plan.crash_after} s")

    def _rx_pass(self, device: DeviceTransport, endpoints: EndpointTable) -> RxPass:
        """The core's RX pass, run by its mailbox ISR on each inbound kick (one per link,
        so a slow callback delays the rest): drain every posted buffer in FIFO order, each
        message `processing + per_byte × length` after the previous one, the first from
        `start`, when the kick's interrupt came. A stalled core (fault injection) takes
        nothing until the stall ends."""
        dispatch, timing, pacer, faults = endpoints.dispatch, self.timing, device.pacer, self.faults
        take_received = device.take_received
        costly = bool(timing.processing or timing.per_byte)

        async def rx_pass(start: float) -> None:
            handled = 0
            while True:
                while faults.stalled:
                    await trio.sleep(0.005)
                batch = take_received()
                if not batch:
                    return
                for src, dst, data in batch:
                    # Else (fast mode, no plan acting on messages) a message is its dispatch.
                    # A plan put in force meanwhile (Linux's thread) acts from the next one.
                    if costly or faults.touch_messages:
                        if not faults.inbound(src, dst, len(data)):
                            continue
                        cost = timing.receive_cost(len(data)) + faults.extra_delay(dst)
                        if cost:
                            await pacer.spend(cost, start)
                    callback = dispatch(src, dst, data)
                    if callback is not None:
                        await callback
                    handled += 1
                    if handled == MESSAGES_PER_CHECKPOINT:
                        handled = 0
                        await trio.lowlevel.checkpoint()
                start = time.monotonic()  # later ones were found when the ring was looked at

        return rx_pass


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"
