"""What a firmware author writes against, in the spirit of TI's RPMessage and OpenAMP.

A firmware is a module (or any object) with an `async def main(ctx: FirmwareContext)`. `main`
may return once its endpoints are set up: callbacks keep running until the core stops.
An exception escaping `main` or a callback crashes the core, as a fault would on the board.
Each core runs in its own thread with its own trio loop: a firmware may block or spin, and
only its own core stops (its watchdog then crashes it). No scheduling annotations are needed.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Protocol

from .dma_buffers import DmaFault, DmaMappingTable
from .endpoint import Callback, Endpoint, EndpointTable
from .rpmsg_header import RPMSG_ADDR_ANY, RPMSG_NS_ADDR
from .trace_buffer import TraceBuffer

ADDR_ANY = RPMSG_ADDR_ANY
NS_ADDR = RPMSG_NS_ADDR

__all__ = ["ADDR_ANY", "NS_ADDR", "DmaFault", "Endpoint", "Firmware", "FirmwareContext"]


class Firmware(Protocol):
    main: Callable[[FirmwareContext], Awaitable[None]]


class FirmwareContext:
    """The core as its firmware sees it."""

    def __init__(
        self, core_name: str, config: dict[str, Any], endpoints: EndpointTable, trace: TraceBuffer,
        dma: DmaMappingTable | None = None,
    ) -> None:
        self.core_name = core_name
        self.config = config
        self.mtu = endpoints.device.mtu
        self._endpoints = endpoints
        self._trace = trace
        self._dma = dma if dma is not None else DmaMappingTable(core_name)

    def create_endpoint(self, addr: int = ADDR_ANY, callback: Callback | None = None) -> Endpoint:
        """Open a local address (ADDR_ANY: lowest free ≥ 1024). With `callback(ep, src, data)`
        messages are handed to it inline; without, read them with `await ep.recv()`."""
        return self._endpoints.create(addr, callback)

    async def sleep(self, seconds: float) -> None:
        """Sleep on the core's own clock, to the microsecond (trio.sleep rounds up to ms)."""
        await self._endpoints.device.timer.sleep(seconds)

    def dma_buf(self, device_address: int, size: int) -> memoryview:
        """A writable view of `size` bytes at `device_address` of a buffer Linux attached to
        this core (RPROC_IOC_DMA_BUF_ATTACH): the same pages, no copy. An address nothing is
        mapped at raises `DmaFault` (a bus fault: uncaught, it crashes the core). Linux must
        have made the data coherent first (DMA_BUF_SYNC_END after writing), as on the board."""
        return self._dma.view(device_address, size)

    def log(self, message: str) -> None:
        """Write a line to the core's trace buffer (Linux shows it as debugfs trace0)."""
        self._trace.write(message)
