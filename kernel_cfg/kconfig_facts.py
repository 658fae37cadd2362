"""The few Kconfig facts the doctor needs to read a defconfig as Kconfig would.

A defconfig (`make savedefconfig`, arch/arm64/configs/defconfig, TI's fragments) leaves out
every symbol that another one `select`s and every symbol at its default. Read literally,
TI's arm64 defconfig "lacks" RPMSG, RPMSG_NS, VIRTIO, MAILBOX and TI_SCI_PROTOCOL and does
not even say it is for arm64 — yet `make defconfig` turns all of them on. This table holds
exactly those facts, each with the Kconfig file that states it, and `resolve()` applies them
the way scripts/kconfig does: a select raises its target to at least the selector's value
(also over an explicit `n`, as kconfig's reverse dependencies do).

Versions are (major, minor); `since`/`until` are inclusive; None is open. The table covers
the kernels the doctor is meant for (TI's 6.1, 6.6 and 6.12 trees and mainline up to 6.12);
a config of unknown version is read with the newest facts.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Version = tuple[int, int]
LATEST: Version = (6, 12)


@dataclass(frozen=True)
class Select:
    """`config SELECTOR ... select TARGET` in SOURCE, for kernels since..until."""

    selector: str
    target: str
    source: str
    since: Version | None = None
    until: Version | None = None

    def applies(self, version: Version | None) -> bool:
        v = version or LATEST
        return (self.since is None or v >= self.since) and (self.until is None or v <= self.until)


_PLATFORMS = "arch/arm64/Kconfig.platforms: config ARCH_K3"
_RPMSG = "drivers/rpmsg/Kconfig: config RPMSG_VIRTIO"
_RPROC = "drivers/remoteproc/Kconfig"

SELECTS: tuple[Select, ...] = (
    # ARCH_K3 selects the mailbox framework and TI's system-firmware protocol (through 6.12 at
    # least; 2025 patches turn these into `default ARCH_K3` on the targets).
    Select("ARCH_K3", "MAILBOX", _PLATFORMS),
    Select("ARCH_K3", "TI_MESSAGE_MANAGER", _PLATFORMS),
    Select("ARCH_K3", "TI_SCI_PROTOCOL", _PLATFORMS),
    # REMOTEPROC selects CRC32, FW_LOADER, VIRTIO (and WANT_DEV_COREDUMP).
    Select("REMOTEPROC", "VIRTIO", f"{_RPROC}: config REMOTEPROC"),
    # RPMSG_VIRTIO selects RPMSG and VIRTIO; RPMSG_NS since the name service became its own
    # driver in 5.11 (drivers/rpmsg/rpmsg_ns.c).
    Select("RPMSG_VIRTIO", "RPMSG", _RPMSG),
    Select("RPMSG_VIRTIO", "VIRTIO", _RPMSG),
    Select("RPMSG_VIRTIO", "RPMSG_NS", _RPMSG, since=(5, 11)),
    # The K3 remoteproc drivers selected MAILBOX and OMAP2PLUS_MBOX until "mailbox,
    # remoteproc: omap2+: fix compile testing" (2024, ≈6.12) made them `depends on
    # OMAP2PLUS_MBOX`. TI_K3_M4_REMOTEPROC as in TI's vendor trees before mainline 6.12.
    *(Select(driver, target, f"{_RPROC}: config {driver}", until=(6, 11))
      for driver in ("TI_K3_R5_REMOTEPROC", "TI_K3_DSP_REMOTEPROC", "TI_K3_M4_REMOTEPROC")
      for target in ("MAILBOX", "OMAP2PLUS_MBOX")),
)

# Symbols that exist on one architecture only: a defconfig never names ARM64 itself
# (arch/arm64/Kconfig: `config ARM64 def_bool y`), so a platform symbol tells the arch.
ARCH_OF_SYMBOL: dict[str, str] = {"ARCH_K3": "arm64"}  # arch/arm64/Kconfig.platforms

# Bool symbols: a tristate select of them by an `m` selector still makes them `y`.
BOOLS = frozenset({"ARCH_K3", "MAILBOX", "NET", "REMOTEPROC", "REMOTEPROC_CDEV"})

_LEVEL = {"n": 0, "m": 1, "y": 2}


@dataclass(frozen=True)
class Resolved:
    """A symbol's value after Kconfig's selects, and which select gave it (if one did)."""

    value: str | None  # y, m, n, a string, or None (absent and not selected)
    selected_by: str | None = None  # "RPMSG_VIRTIO=m"


def resolve(values: Mapping[str, str], version: Version | None) -> dict[str, Resolved]:
    """Every symbol of `values` plus every one a select turns on; a fixpoint, since selected
    symbols select others (RPMSG_VIRTIO → RPMSG)."""
    out = {symbol: Resolved(value) for symbol, value in values.items()}
    changed = True
    while changed:
        changed = False
        for sel in SELECTS:
            if not sel.applies(version):
                continue
            source = out.get(sel.selector)
            level = _LEVEL.get(source.value or "n", 0) if source else 0
            if level == 0:
                continue
            if sel.target in BOOLS:
                level = 2
            current = out.get(sel.target)
            if current is None or _LEVEL.get(current.value or "n", 0) < level:
                value = "y" if level == 2 else "m"
                out[sel.target] = Resolved(value, f"{sel.selector}={source.value}")
                changed = True
    return out


def selectors_of(target: str, version: Version | None) -> tuple[Select, ...]:
    """The selects that can turn `target` on at that version."""
    return tuple(s for s in SELECTS if s.target == target and s.applies(version))
