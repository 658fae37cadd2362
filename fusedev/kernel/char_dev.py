"""fs/char_dev.c: char-device regions, the dynamic major allocator and /proc/devices.

`alloc_chrdev_region` takes the first free major of `find_dynamic_major`: 254 down to 234
(a slot of the 255-entry hash must be wholly empty), then the extended range 511 down to 384.
Which majors a driver gets therefore depends on everything registered before it. On TI's
AM62x SDK kernel the board shows rpmsg_char at 234 and rpmsg_ctrl at 511 (real SK log,
`ls -l /dev/rpmsg*`): when the rpmsg_char module loads, built-in drivers already hold 254…235.
`board_regions()` models that: twenty dynamic regions before the rpmsg modules, among them the
built-in remoteproc core's (remoteproc_core.c `rproc_init_cdev`, a subsys_initcall). Only the
names the emulator serves are listed in /proc/devices; where remoteproc falls among the other
nineteen is modelled, not measured.
"""
from __future__ import annotations

import errno

CHRDEV_MAJOR_HASH_SIZE = 255
CHRDEV_MAJOR_DYN_END = 234
CHRDEV_MAJOR_DYN_EXT_START = 511
CHRDEV_MAJOR_DYN_EXT_END = 384

# Dynamic regions the board's built-in drivers hold before and after remoteproc's; the last
# one before it is dma-heap.c `dma_heap_init` (drivers/dma-buf links before remoteproc/).
BUILTIN_BEFORE_REMOTEPROC = 13
BUILTIN_AFTER_REMOTEPROC = 6


class CharDevRegions:
    """The kernel's table of char-device majors (`chrdevs[]`), in registration order."""

    def __init__(self) -> None:
        self._regions: list[tuple[int, str | None]] = []

    def register(self, major: int, name: str | None) -> int:
        """`register_chrdev_region` at a fixed major."""
        self._regions.append((major, name))
        return major

    def alloc(self, name: str | None) -> int:
        """`alloc_chrdev_region`: the major `find_dynamic_major` picks (EBUSY when none)."""
        return self.register(self._find_dynamic_major(), name)

    def _find_dynamic_major(self) -> int:
        majors = [major for major, _ in self._regions]
        for i in range(CHRDEV_MAJOR_HASH_SIZE - 1, CHRDEV_MAJOR_DYN_END - 1, -1):
            if all(major % CHRDEV_MAJOR_HASH_SIZE != i for major in majors):
                return i
        for i in range(CHRDEV_MAJOR_DYN_EXT_START, CHRDEV_MAJOR_DYN_EXT_END - 1, -1):
            if i not in majors:
                return i
        raise OSError(errno.EBUSY, "no free dynamic char major")

    def named(self) -> dict[str, int]:
        """Name → major of every named region (the lookup the drivers use)."""
        return {name: major for major, name in self._regions if name is not None}

    def proc_lines(self) -> list[tuple[int, str]]:
        """The `Character devices:` rows of /proc/devices for the named regions."""
        return sorted((major, name) for major, name in self._regions if name is not None)


def board_regions() -> CharDevRegions:
    """The regions of a booted TI AM62x kernel before any rpmsg module is loaded."""
    regions = CharDevRegions()
    for _ in range(BUILTIN_BEFORE_REMOTEPROC - 1):
        regions.alloc(None)
    regions.alloc("dma_heap")
    regions.alloc("remoteproc")
    for _ in range(BUILTIN_AFTER_REMOTEPROC):
        regions.alloc(None)
    return regions


def board_majors(module_regions: tuple[str, ...]) -> dict[str, int]:
    """Name → major once the rpmsg modules register `module_regions` in that order."""
    regions = board_regions()
    for name in module_regions:
        regions.alloc(name)
    return regions.named()


def proc_devices(host_text: str, ours: list[tuple[int, str]]) -> str:
    """/proc/devices as a program on the emulated board reads it.

    The host's character majors stay (a program may look up `pts` or `misc`) except those the
    emulated board uses for its own devices; ours are added in major order. Block devices
    are the host's.
    """
    taken = {major for major, _ in ours}
    names = {name for _, name in ours}
    char_rows: list[tuple[int, str]] = []
    block_lines: list[str] = []
    section = ""
    for line in host_text.splitlines():
        if line.endswith(":"):
            section = line
            continue
        if section.startswith("Block"):
            block_lines.append(line)
            continue
        fields = line.split(None, 1)
        if len(fields) == 2 and fields[0].isdigit():
            major = int(fields[0])
            if major not in taken and fields[1] not in names:
                char_rows.append((major, fields[1]))
    char_rows += ours
    rows = sorted(char_rows, key=lambda row: row[0])  # stable: the host's order within a major
    text = "Character devices:\n" + "".join(f"{major:3d} {name}\n" for major, name in rows)
    return text + "\nBlock devices:\n" + "".join(f"{line}\n" for line in block_lines if line)
