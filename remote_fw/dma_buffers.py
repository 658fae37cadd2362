"""The core's window onto buffers outside its own memories: a device-address mapping table.

On a K3 SoC a remote core reaches a Linux DMA-buf in DDR through its address translation
(the R5F/M4F region address translator, the C7x MMU): Linux tells the core's side which
device-address range is backed by which memory, and the firmware then reads and writes the
same pages Linux mapped. This table is that hardware: Linux maps and unmaps ranges (any
object with the buffer protocol, e.g. an mmap of the dma-buf), firmware asks for a view.
It is the only thing both sides touch, like the vrings' shared buffer; firmware code is never
called from Linux. Linux maps from its own thread and the core reads from its own, so the
table is locked; the pages themselves are shared without locks, as on the hardware.

A view of an address nobody mapped is a bus fault (`DmaFault`): raised in the firmware, it
crashes the core as a data abort would, unless the firmware catches it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

AccessHook = Callable[[int, int], None]


class DmaFault(Exception):
    """The firmware touched a device address outside every mapped range."""

    def __init__(self, core: str, da: int, size: int) -> None:
        super().__init__(f"{core}: no mapping for device address {da:#x}+{size:#x} "
                         "(bus fault)")
        self.da = da
        self.size = size


@dataclass(frozen=True)
class _Range:
    da: int
    size: int
    memory: Any  # supports the buffer protocol (writable)
    on_access: AccessHook | None


class DmaMappingTable:
    """Device address → memory, for one remote core."""

    def __init__(self, core: str) -> None:
        self.core = core
        self._lock = threading.Lock()
        self._ranges: dict[int, _Range] = {}

    def map(self, da: int, memory: Any, on_access: AccessHook | None = None) -> None:
        """Back [da, da + len(memory)) with `memory`; `on_access(da, size)` is called in the
        core's thread each time firmware takes a view (a bus monitor, for debug checks)."""
        size = len(memory)
        with self._lock:
            for other in self._ranges.values():
                if da < other.da + other.size and other.da < da + size:
                    raise ValueError(f"{self.core}: {da:#x}+{size:#x} overlaps a mapping")
            self._ranges[da] = _Range(da, size, memory, on_access)

    def unmap(self, da: int) -> Any:
        """Remove the range at `da`; returns its memory (None if nothing was mapped there)."""
        with self._lock:
            found = self._ranges.pop(da, None)
        return found.memory if found is not None else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._ranges)

    def view(self, da: int, size: int) -> memoryview:
        """A writable view of [da, da + size): the very pages Linux mapped."""
        with self._lock:
            found = next((r for r in self._ranges.values()
                          if r.da <= da and da + size <= r.da + r.size), None)
        if found is None or size < 0:
            raise DmaFault(self.core, da, size)
        if found.on_access is not None:
            found.on_access(da, size)
        offset = da - found.da
        return memoryview(found.memory)[offset:offset + size]
