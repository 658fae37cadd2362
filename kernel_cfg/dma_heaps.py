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


KINDS = (SYSTEM, CMA, CARVEOUT)
_PAGE = 4096


def heaps_from_tables(tables: list[object]) -> tuple[HeapSpec, ...]:
    """A board's own `[[dma_heaps]]` (name, kind, base, size), checked; raises
    ValueError(key, message) naming the offending key."""
    heaps: list[HeapSpec] = []
    for i, table in enumerate(tables):
        key = f"dma_heaps[{i}]"
        if not isinstance(table, dict):
            raise ValueError(key, "must be a table with name, kind, base and size")
        unknown = set(table) - {"name", "kind", "base", "size"}
        if unknown:
            raise ValueError(f"{key}.{sorted(unknown)[0]}", "unknown key; allowed: base, kind, "
                             "name, size")
        name, kind = table.get("name"), table.get("kind", CMA)
        if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
            raise ValueError(f"{key}.name", f"{name!r} is not a heap name (a /dev/dma_heap entry)")
        if any(h.name == name for h in heaps):
            raise ValueError(f"{key}.name", f"heap {name!r} is declared twice")
        if kind not in KINDS:
            raise ValueError(f"{key}.kind", f"{kind!r} is not allowed; {', '.join(KINDS)}")
        base, size = table.get("base", 0), table.get("size")
        for field, value in (("base", base), ("size", size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0 \
                    or value % _PAGE or value >= 1 << 48:
                raise ValueError(f"{key}.{field}", f"{value!r} is not allowed; a multiple of "
                                 "4096 below 2**48")
        if not size:
            raise ValueError(f"{key}.size", "must be more than 0")
        heap = HeapSpec(name, kind, base, size)
        for other in heaps:
            if heap.contiguous and other.contiguous and base < other.base + other.size \
                    and other.base < base + size:
                raise ValueError(f"{key}.base", f"overlaps heap {other.name!r}")
        heaps.append(heap)
    return tuple(heaps)


def soc_heaps(family: str) -> tuple[HeapSpec, ...]:
    """The heaps of a SoC family, in registration order (system and CMA first: initcalls)."""
    return (_SYSTEM, _CMA) + _CARVEOUTS.get(family, ())
