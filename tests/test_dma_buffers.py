"""The remote core's device-address table (remote_fw/dma_buffers.py) as firmware meets it.

Linux maps a buffer at a device address; the firmware's view is the same memory, both ways,
with no copy; an address nothing is mapped at is a bus fault; mappings cannot overlap, as two
translations of one address could not exist in the hardware's table.
"""
from __future__ import annotations

import pytest

from remote_fw.dma_buffers import DmaFault, DmaMappingTable


def test_a_view_is_the_same_memory_both_ways():
    table = DmaMappingTable("r5f0_0")
    memory = bytearray(b"linux wrote this" + bytes(16))
    table.map(0xC000_0000, memory)
    view = table.view(0xC000_0006, 5)
    assert bytes(view) == b"wrote"
    view[:] = b"WROTE"  # the firmware writes ...
    assert memory.startswith(b"linux WROTE this")  # ... and Linux sees it, no copy


def test_an_unmapped_address_is_a_bus_fault():
    table = DmaMappingTable("m4f0_0")
    table.map(0xC000_0000, bytearray(4096))
    for da, size in ((0xBFFF_F000, 16), (0xC000_0FF0, 32), (0xD000_0000, 1)):
        with pytest.raises(DmaFault, match="m4f0_0: no mapping"):
            table.view(da, size)
    assert table.unmap(0xC000_0000) is not None
    with pytest.raises(DmaFault):
        table.view(0xC000_0000, 1)  # after detach


def test_ranges_cannot_overlap_and_the_monitor_sees_each_access():
    seen = []
    table = DmaMappingTable("c71_0")
    table.map(0x1000, bytearray(0x1000), lambda da, size: seen.append((da, size)))
    with pytest.raises(ValueError, match="overlaps"):
        table.map(0x1800, bytearray(0x1000))
    table.map(0x2000, bytearray(0x1000))
    table.view(0x1100, 0x10)
    assert seen == [(0x1100, 0x10)] and len(table) == 2
