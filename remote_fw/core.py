"""RemoteCore: one remote processor (R5F, M4F, C7x…) running a firmware as trio tasks.

States: offline → running → crashed (or back to offline on stop). Each start builds fresh
shared memory, mailboxes and transports, so nothing from an earlier run can leak into the next.
All of the core's tasks live under one CancelScope: stop() and crash() cancel it synchronously
and every task of that run ends at its next checkpoint.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import trio

from .device_transport import DeviceTransport
from .endpoint import EndpointTable
from .firmware_api import FirmwareContext
from .firmware_loader import LoadedFirmware, load_firmware
from .host_transport import HostTransport
from .isr import finish_in_task, run_in_kick
from .mailbox import Mailbox
from .shared_memory import SharedMemory
from .timing import CoreTiming
from .trace_buffer import TraceBuffer

log = logging.getLogger(__name__)

OFFLINE = "offline"
RUNNING = "running"
CRASHED = "crashed"


class _Run:
    """Everything belonging to one start() of the core."""

    def __init__(self, core: RemoteCore, firmware: LoadedFirmware, config: dict[str, Any]) -> None:
        self.firmware = firmware
        self.scope = trio.CancelScope()
        self.shm = SharedMemory(core.num_bufs, core.buf_size)
        to_remote = Mailbox(f"{core.name} mbox rx")
        to_host = Mailbox(f"{core.name} mbox tx")
        self.host = HostTransport(self.shm, to_remote, to_host)
        self.device = DeviceTransport(self.shm, to_remote, to_host, core.timing.irq_latency)
        self.trace = TraceBuffer()
        self.endpoints = EndpointTable(self.device, self.trace)
        self.ctx = FirmwareContext(core.name, config, self.endpoints, self.trace)
        self.rx_busy = False  # an RX pass is under way (in a kick or in the RX task)
        self.handoff: Any = None  # a pass that left its kick, or the exception it raised


class RemoteCore:
    on_crash: Callable[[str], None] | None
    """Called with the reason when the firmware raises and the core crashes."""

    def __init__(
        self,
        name: str,
        *,
        num_bufs: int = 256,
        buf_size: int = 512,
        firmware_dirs: Sequence[Path] = (),
        timing: CoreTiming | None = None,
    ) -> None:
        SharedMemory(num_bufs, buf_size)  # validate the geometry now, not at first start
        self.name = name
        self.num_bufs = num_bufs
        self.buf_size = buf_size
        self.firmware_dirs = tuple(Path(d) for d in firmware_dirs)
        self.timing = timing or CoreTiming()
        self.state = OFFLINE
        self.crash_reason: str | None = None
        self.on_crash = None
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
        """Load `firmware` and boot. Raises the loader's OSError (EINVAL/ENOENT) at once,
        leaving the core as it was."""
        if self.state == RUNNING:
            raise RuntimeError(f"{self.name} is already running")
        loaded = load_firmware(firmware, self.firmware_dirs)
        run = _Run(self, loaded, dict(config or {}))
        self._run = run
        self._last_trace = run.trace
        self._last_firmware = firmware
        self.state = RUNNING
        self.crash_reason = None
        run.trace.write(f"{self.name}: booting {firmware} ({loaded.origin})")
        log.info("%s: started firmware %s from %s", self.name, firmware, loaded.origin)
        nursery.start_soon(self._execute, run, name=f"{self.name}:{firmware}")

    def stop(self) -> None:
        """Power the core off; its tasks are cancelled. No-op when already offline."""
        self._end(OFFLINE)

    def crash(self, reason: str = "crash requested") -> None:
        """Crash the running core now (as debugfs `crash` does): tasks stop mid-flight."""
        if self.state != RUNNING:
            raise RuntimeError(f"{self.name} is {self.state}; only a running core can crash")
        self.crash_reason = reason
        self._end(CRASHED)
        log.warning("%s: crashed: %s", self.name, reason)

    def _end(self, state: str) -> None:
        run, self._run = self._run, None
        if run is not None:
            run.scope.cancel()
            run.trace.write(f"{self.name}: {state}" + (f": {self.crash_reason}" if state == CRASHED else ""))
        self.state = state

    async def _execute(self, run: _Run) -> None:
        try:
            with run.scope:
                async with trio.open_nursery() as tasks:
                    if not self.timing.processing:
                        run.device.on_kick = lambda: self._rx_in_kick(run)
                    tasks.start_soon(run.device.run_isr, name=f"{self.name}:isr")
                    tasks.start_soon(self._rx_loop, run, name=f"{self.name}:rx")
                    tasks.start_soon(run.firmware.main, run.ctx, name=f"{self.name}:main")
        except Exception as exc:
            if self._run is not run:
                return
            reason = _describe(exc)
            log.error("%s: firmware %s crashed: %s", self.name, run.firmware.name, reason, exc_info=exc)
            self.crash(f"firmware fault: {reason}")
            if self.on_crash is not None:
                self.on_crash(self.crash_reason or reason)
        finally:
            if self._run is run:  # cancelled from outside (the emulator shutting down)
                self._end(OFFLINE)

    async def _rx_loop(self, run: _Run) -> None:
        """One RX task per link: each kick, finish a pass that left its kick, or run one."""
        device = run.device
        while True:
            await device.wait_rx_kick()
            handoff, run.handoff = run.handoff, None
            run.rx_busy = True
            if isinstance(handoff, BaseException):
                raise handoff
            if handoff is not None:
                await finish_in_task(handoff)
            await self._rx_pass(run)
            run.rx_busy = False

    async def _rx_pass(self, run: _Run) -> None:
        """Drain every posted buffer, dispatching in FIFO order, until none is left."""
        device, dispatch = run.device, run.endpoints.dispatch
        processing = self.timing.processing
        while batch := device.take_received():
            for src, dst, data in batch:
                if processing:
                    await trio.sleep(processing)
                callback = dispatch(src, dst, data)
                if callback is not None:
                    await callback

    def _rx_in_kick(self, run: _Run) -> bool:
        """Linux kicked an idle core: run the pass right here (remote_fw/isr.py).

        False — the RX task must be woken — when a pass is already under way, the core is no
        longer running this run, or the pass had to leave the kick (the task finishes it). A
        firmware fault is handed to the task too, so it crashes the core as before and never
        surfaces in Linux's call.
        """
        if run.rx_busy or self._run is not run:
            return False
        run.rx_busy = True
        coro = self._rx_pass(run)
        try:
            done = run_in_kick(coro)
        except Exception as exc:
            run.handoff = exc
            return False
        if done:
            run.rx_busy = False
            return True
        run.handoff = coro
        return False


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"
