"""The DMA-buf heaps a TI board's kernel registers, per SoC (/dev/dma_heap/NAME).

Every TI SDK kernel has the `system` heap (drivers/dma-buf/heaps/system_heap.c: pages from
anywhere, not contiguous) and the `linux,cma` heap (cma_heap.c, named after the default CMA
area's reserved-memory node: contiguous). TI's vendor kernel adds a carve-out heap for each
reserved-memory node with compatible "dma-heap-carveout", named `carveout_<node name>`
(drivers/dma-buf/heaps/carveout-heap.c); the SDK device trees of the vision/edge-AI SoCs have
one for the apps' shared memory. Addresses are physical (the K3 R5F, M4F and C66 cores have
no IOMMU and see DDR at the same address as Linux). The CMA window and the J721E/J721S2/AM62A
carve-out placements are modelled (one plausible layout below 4 GiB, which the 32-bit cores
can reach); the J784S4 carve-out is the SDK's vision_apps region at 0x8_a000_0000.
"""
from __future__ import annotations

from dataclasses import dataclass

SYSTEM, CMA, CARVEOUT = "system", "cma", "carveout"
MIB = 1 << 20


@dataclass(frozen=True)
class HeapSpec:
    """One heap: its name (the /dev node), what it allocates from, and its window."""

    name: str
    kind: str  # SYSTEM (scattered pages), CMA or CARVEOUT (one contiguous window)
    base: int = 0  # physical address of the window (contiguous kinds)
    size: int = 0  # bytes in the window; SYSTEM: the largest single allocation

    @property
    def contiguous(self) -> bool:
        return self.kind != SYSTEM


_SYSTEM = HeapSpec("system", SYSTEM, 0, 2048 * MIB)
_CMA = HeapSpec("linux,cma", CMA, 0xC000_0000, 512 * MIB)
_VISION = "carveout_vision_apps_shared-memories"

_CARVEOUTS: dict[str, tuple[HeapSpec, ...]] = {
    "J721E": (HeapSpec(_VISION, CARVEOUT, 0xB800_0000, 256 * MIB),),
    "J721S2": (HeapSpec(_VISION, CARVEOUT, 0xB800_0000, 256 * MIB),),
    "J784S4": (HeapSpec(_VISION, CARVEOUT, 0x8_A000_0000, 512 * MIB),),
    "AM62AX": (HeapSpec("carveout_edgeai_shared-memories", CARVEOUT, 0xB800_0000, 256 * MIB),),
}


def soc_heaps(family: str) -> tuple[HeapSpec, ...]:
    """The heaps of a SoC family, in registration order (system and CMA first: initcalls)."""
    return (_SYSTEM, _CMA) + _CARVEOUTS.get(family, ())
