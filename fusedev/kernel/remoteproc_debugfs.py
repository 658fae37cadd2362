"""remoteproc_debugfs: /sys/kernel/debug/remoteproc/remoteprocN, as `rproc_create_debug_dir`.

drivers/remoteproc/remoteproc_debugfs.c (v6.x): `name` 0400, `recovery` 0600, `crash` 0200,
`resource_table` 0400, `carveout_memories` 0400, `coredump` 0600, all of size 0 (debugfs files
have no size), in a 0755 directory. `trace0` (0400) appears when the processor boots or
attaches with its trace resource and goes when it is stopped or detached
(`rproc_handle_trace`, `rproc_resource_cleanup`).

debugfs files are plain `file_operations`, not kernfs: a file without `.read` opens (for root)
and a read gives EINVAL, likewise a write to one without `.write` (fusedev/fuse/kernfs_file.py
serves them so, for everything below the debugfs mount). Writes see the raw user
buffer: `recovery` and `coredump` compare with `strncmp(buf, word, count)` after turning a final
newline into NUL (so prefixes match), and `crash` parses an unsigned integer crash type with
`kstrtouint_from_user` and reports the crash (`rproc_report_crash`). Here the crash also halts
the simulated core, so that it is one (the kernel only reports it; see docs/conformance.md).
"""
from __future__ import annotations

import errno
import zlib
from typing import TYPE_CHECKING, Callable

from fusedev.fuse.fileops import FsError
from fusedev.kernel.sysfs_input import kstrtouint, strncmp_equal
from fusedev.fuse.vfs import Attribute, Directory

if TYPE_CHECKING:
    from fusedev.kernel.remoteproc import Rproc

# Device addresses of the vring carveouts on a real AM62x SK (k3-am62x-sk-common.dtsi
# reserved memory, as `carveout_memories` shows them); other cores get made-up ones.
DMA_BASES = {"5000000.m4fss": 0x9CB00000, "78000000.r5f": 0x9DA00000}
TRACE_ADDRESSES = {"5000000.m4fss": 0x38000, "78000000.r5f": 0x9DCB2780}
PAGE = 4096


class DebugfsAttribute(Attribute):
    """A debugfs file: like an attribute, but debugfs reports no size."""

    __slots__ = ()

    @property
    def size(self) -> int:
        return 0


def _word_buffer(data: bytes, size: int) -> bytes:
    """What `rproc_recovery_write`/`rproc_coredump_write` compare: count in 1..size bytes
    (else EINVAL), a final newline turned into NUL."""
    if not 1 <= len(data) <= size:
        raise FsError(errno.EINVAL)
    return data[:-1] + b"\0" if data.endswith(b"\n") else data


class RprocDebugfs:
    """The debugfs directory of one remoteproc."""

    def __init__(self, parent: Directory, rproc: Rproc) -> None:
        self.rproc = rproc
        self.dir = parent.mkdir(rproc.dev.name, mode=0o755)
        self._file("name", 0o400, show=lambda: f"{rproc.name[:98]}\n")
        self._file("recovery", 0o600, show=rproc.show_recovery, store=self._recovery_write)
        self._file("crash", 0o200, store=self._crash_write)
        self._file("resource_table", 0o400, show=self._resource_table)
        self._file("carveout_memories", 0o400, show=self._carveouts)
        self._file("coredump", 0o600, show=lambda: f"{rproc.dump_conf}\n",
                   store=self._coredump_write)

    def _file(self, name: str, mode: int, show: Callable[[], str] | None = None,
              store: Callable[[bytes], None] | None = None) -> None:
        self.dir.add(name, DebugfsAttribute(show, store, mode))

    def add_trace(self) -> None:
        """rproc_create_trace_file("trace0"): the firmware's trace buffer."""
        if "trace0" not in self.dir.children:
            self._file("trace0", 0o400, show=self.rproc.core.trace_text)

    def remove_trace(self) -> None:
        self.dir.discard("trace0")

    # ---- writes --------------------------------------------------------------------------

    def _recovery_write(self, data: bytes) -> None:
        """rproc_recovery_write (v6.x): enabled, disabled or recover, as prefixes."""
        buf = _word_buffer(data, 10)
        self.rproc.set_recovery(lambda word: strncmp_equal(buf, word))

    def _coredump_write(self, data: bytes) -> None:
        """rproc_coredump_write: EBUSY while crashed, then disabled, enabled or inline."""
        buf = _word_buffer(data, 20)
        if self.rproc.state == "crashed":
            raise FsError(errno.EBUSY)
        for word in ("disabled", "enabled", "inline"):
            if strncmp_equal(buf, word):
                self.rproc.dump_conf = word
                return
        raise FsError(errno.EINVAL)

    def _crash_write(self, data: bytes) -> None:
        """rproc_crash_write: any unsigned integer is a crash type (names past 2: unknown)."""
        try:
            crash_type = kstrtouint(data)
        except ValueError as exc:
            raise FsError(exc.args[0]) from None
        self.rproc.report_crash(crash_type)

    # ---- reads ---------------------------------------------------------------------------

    def _carveout_list(self) -> list[tuple[str, int, int]]:
        """(name, device address, length) of the vring carveouts while resources are held."""
        rproc = self.rproc
        if not rproc.resources_held:
            return []
        base = DMA_BASES.get(rproc.name, 0xA0000000 + 0x1000000 * rproc.index)
        size = _vring_size(rproc.num_bufs)
        step = (size + 0x3FFF) & ~0x3FFF
        return [("vdev0vring0", base, size), ("vdev0vring1", base + step, size)]

    def _carveouts(self) -> str:
        """rproc_carveouts_show; %pK prints a hashed pointer, made up here."""
        out = []
        for name, da, length in self._carveout_list():
            hashed = zlib.crc32(f"{self.rproc.name}:{name}".encode())
            out.append(f"Carveout memory entry:\n\tName: {name}\n"
                       f"\tVirtual address: {hashed:016x}\n\tDMA address: 0x{da:016x}\n"
                       f"\tDevice address: 0x{da:x}\n\tLength: 0x{length:x} Bytes\n\n")
        return "".join(out)

    def _resource_table(self) -> str:
        """rproc_rsc_table_show: the vdev (id 7, rpmsg) with its two vrings, then the trace."""
        rproc = self.rproc
        carveouts = self._carveout_list()
        if not carveouts:
            return "No resource table found\n"
        lines = ["Entry 0 is of type vdev", "  ID 7", "  Notify ID 0",
                 "  Device features 0x1", "  Guest features 0x1", "  Config length 0x0",
                 f"  Status 0x{7 if rproc.vdev is not None else 0:x}",
                 "  Number of vrings 2", "  Reserved (should be zero) [0][0]", ""]
        for index, (_, da, _) in enumerate(carveouts):
            lines += [f"  Vring {index}", f"    Device Address 0x{da:x}", "    Alignment 4096",
                      f"    Number of buffers {rproc.num_bufs}", f"    Notify ID {index}",
                      "    Physical Address 0x0", ""]
        trace = TRACE_ADDRESSES.get(rproc.name, carveouts[0][1] + 0x100000)
        lines += ["Entry 1 is of type trace", f"  Device Address 0x{trace:x}",
                  "  Length 0x1000 Bytes", "  Reserved (should be zero) [0]",
                  f"  Name trace:{rproc.spec.kind.lower()}ss0_0", "", ""]
        return "\n".join(lines)


def _vring_size(num: int) -> int:
    """include/uapi/linux/virtio_ring.h `vring_size(num, 4096)`, page aligned as allocated."""
    avail_end = 16 * num + 6 + 2 * num
    used_start = (avail_end + PAGE - 1) // PAGE * PAGE
    total = used_start + 6 + 8 * num
    return (total + PAGE - 1) // PAGE * PAGE
