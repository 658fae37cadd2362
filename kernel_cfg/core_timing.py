"""How fast each kind of remote core answers: the defaults behind a board's timing keys.

Per core, a message's latency is the mailbox interrupt latency (each way), plus the core's
processing per message, plus a copy cost per payload byte (on receipt and on sending). The
R5F figures are calibrated so that rpmsg_char_benchmark against the emulated AM64x R5F lands
near TI's published round trips (1 byte ≈ 35 µs, 490 bytes ≈ 154 µs; docs/firmware.md,
"Timing model"); the others are scaled from it by clock speed. A board's `timing = "fast"`
(or `--timing fast`) drops every modelled delay. Data only: remote_fw gets the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .board import CoreConfig

TIMING_MODES = ("board", "fast")
DEFAULT_WATCHDOG_MS = 2000.0


@dataclass(frozen=True)
class TimingUs:
    """One core's timing in the board file's units."""

    irq_latency_us: float
    processing_us: float
    per_byte_ns: float
    watchdog_ms: float = DEFAULT_WATCHDOG_MS

    def round_trip_us(self, length: int) -> float:
        """What the model makes of an echo of `length` bytes."""
        return 2 * self.irq_latency_us + self.processing_us + 2 * self.per_byte_ns * length / 1000


# Keyed by RemoteProc.kind (kernel_cfg/soc.py). The model covers the kick → Linux's interrupt
# handler; the emulator's own FUSE requests (write, then the read that gets the reply) add
# ~15 µs on a fast machine, as the board's Linux-side syscall and wake-up paths do there.
# R5F: 2 × 4 + 11.8 + 2 × 0.1217 × 1 ≈ 20 µs (+15 → TI's 35 µs); per byte
# (154 − 35) / (2 × 489) ns. The M4F runs at half the R5F's clock (400 vs 800 MHz): twice the
# processing and copy time; the DSPs (C66x 1.35 GHz, C7x 1 GHz) copy with wider loads.
KIND_TIMING = {
    "R5F": TimingUs(irq_latency_us=4.0, processing_us=11.8, per_byte_ns=121.7),
    "M4F": TimingUs(irq_latency_us=4.0, processing_us=23.6, per_byte_ns=243.4),
    "C66": TimingUs(irq_latency_us=4.0, processing_us=7.0, per_byte_ns=60.8),
    "C71": TimingUs(irq_latency_us=4.0, processing_us=9.4, per_byte_ns=60.8),
}
FAST = TimingUs(irq_latency_us=0.0, processing_us=0.0, per_byte_ns=0.0)


def core_timing(kind: str, core: CoreConfig | None, mode: str = "board") -> TimingUs:
    """The timing a core of `kind` runs with: the board's keys over the kind's defaults;
    in fast mode no delay at all (the watchdog stays)."""
    base = KIND_TIMING.get(kind, KIND_TIMING["R5F"])

    def pick(name: str) -> float:
        value = getattr(core, name, None) if core is not None else None
        return getattr(base, name) if value is None else value

    watchdog = pick("watchdog_ms")
    if mode == "fast":
        return TimingUs(0.0, 0.0, 0.0, watchdog)
    return TimingUs(pick("irq_latency_us"), pick("processing_us"), pick("per_byte_ns"), watchdog)


def timing_value_problem(value: object, *, positive: bool = False) -> str | None:
    """Why `value` cannot be a timing key (NaN, infinite, negative, not a number), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{value!r} is not a number"
    if not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if value < 0 or (positive and value == 0):
        return f"{value!r} must be {'> 0' if positive else '≥ 0'}"
    return None
