"""Firmware endpoints and the per-core address table the RX loop dispatches through."""

from __future__ import annotations

import inspect
import logging
from collections import deque
from typing import Awaitable, Callable, Union

import trio

from .device_transport import DeviceTransport
from .errors import AddressInUseError, PayloadTooLargeError
from .name_service import NsFlags, NsMessage
from .rpmsg_header import RPMSG_ADDR_ANY, RPMSG_NS_ADDR, RPMSG_RESERVED_ADDRESSES
from .trace_buffer import TraceBuffer

log = logging.getLogger(__name__)

Callback = Callable[["Endpoint", int, bytes], Union[Awaitable[None], None]]
"""callback(endpoint, src, payload); plain or async. Runs inline in the core's RX loop."""

class Endpoint:
    """A local rpmsg address on the core (TI RPMessage_Object, OpenAMP rpmsg_endpoint)."""

    def __init__(self, table: EndpointTable, addr: int, callback: Callback | None) -> None:
        self.addr = addr
        self.callback = callback
        self._is_async = inspect.iscoroutinefunction(callback)
        self._table = table
        self._queue: deque[tuple[int, bytes]] = deque()
        self._readers = trio.lowlevel.ParkingLot()
        self.closed = False

    async def send(self, dst: int, data: bytes) -> None:
        """Send `data` from this endpoint to address `dst` on Linux; waits for a free buffer."""
        self._check_open()
        device = self._table.device
        if len(data) > device.mtu:
            raise PayloadTooLargeError(len(data), device.mtu)
        await device.send(self.addr, dst, data)

    async def recv(self) -> tuple[int, bytes]:
        """Next message as (sender's address, payload). Only for endpoints without a callback."""
        self._check_open()
        if self.callback is not None:
            raise RuntimeError(f"endpoint {self.addr} delivers to its callback; recv() is unused")
        while not self._queue:
            await self._readers.park()
        return self._queue.popleft()

    async def announce(self, name: str) -> None:
        """Tell Linux a service `name` lives at this address (NS create → a new rpmsg channel)."""
        await self._name_service(name, NsFlags.CREATE)

    async def withdraw(self, name: str) -> None:
        """Tell Linux the service is gone (NS destroy → the channel and its devices go)."""
        await self._name_service(name, NsFlags.DESTROY)

    async def _name_service(self, name: str, flags: NsFlags) -> None:
        self._check_open()
        msg = NsMessage(name, self.addr, flags).pack()
        await self._table.device.send(self.addr, RPMSG_NS_ADDR, msg)
        self._table.trace.write(f"name service: {flags.name.lower()} {name!r} at {self.addr}")
        if flags == NsFlags.CREATE:
            self._table.announced[name] = self
        elif self._table.announced.get(name) is self:
            del self._table.announced[name]

    def close(self) -> None:
        """Free the address; queued messages are discarded."""
        if not self.closed:
            self.closed = True
            self._table.remove(self)
            self._queue.clear()

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"endpoint {self.addr} is closed")

    def _deliver(self, src: int, data: bytes) -> None:
        self._queue.append((src, data))
        self._readers.unpark()


class EndpointTable:
    """Addresses → endpoints for one core run, plus the RX loop's dispatch."""

    def __init__(self, device: DeviceTransport, trace: TraceBuffer) -> None:
        self.device = device
        self.trace = trace
        self._by_addr: dict[int, Endpoint] = {}
        self.announced: dict[str, Endpoint] = {}
        """Service names announced and not withdrawn, with their endpoints."""

    def create(self, addr: int, callback: Callback | None) -> Endpoint:
        if addr == RPMSG_ADDR_ANY:
            addr = RPMSG_RESERVED_ADDRESSES
            while addr in self._by_addr:
                addr += 1
        elif not 0 <= addr < RPMSG_ADDR_ANY:
            raise ValueError(f"rpmsg address {addr} is out of range")
        elif addr in self._by_addr or addr == RPMSG_NS_ADDR:
            raise AddressInUseError(addr)
        ep = Endpoint(self, addr, callback)
        self._by_addr[addr] = ep
        return ep

    def remove(self, ep: Endpoint) -> None:
        if self._by_addr.get(ep.addr) is ep:
            del self._by_addr[ep.addr]

    def dispatch(self, src: int, dst: int, data: bytes) -> Awaitable[None] | None:
        """Hand one message to the endpoint at `dst`, inline (a slow callback delays the rest).

        Returns what the RX pass must await before the next message (an async callback), or
        None when the message is already handled: no coroutine for the plain cases.
        """
        ep = self._by_addr.get(dst)
        if ep is None:
            if dst == RPMSG_NS_ADDR:
                self._note_linux_service(data)
            else:
                self.trace.write(f"no endpoint at {dst}: dropped {len(data)} bytes from {src}")
            return None
        if ep.callback is None:
            ep._deliver(src, data)
        elif not ep._is_async:
            ep.callback(ep, src, data)
        else:
            return ep.callback(ep, src, data)
        return None

    def _note_linux_service(self, data: bytes) -> None:
        try:
            msg = NsMessage.unpack(data)
        except ValueError as exc:
            self.trace.write(f"name service: {exc}")
            return
        self.trace.write(f"name service: Linux {msg.flags.name.lower()} {msg.name!r} at {msg.addr}")

