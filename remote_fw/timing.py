"""How long a core takes: the model behind every delay a message meets on the remote side.

A message from Linux reaches the core's interrupt handler `irq_latency` after Linux's kick;
the core then spends `processing` plus `per_byte` × its length on it before the endpoint sees
it. Sending costs `per_byte` × the length (the copy into Linux's buffer), and the kick reaches
Linux `irq_latency` later. An echo's round trip is therefore

    2 × irq_latency + processing + 2 × per_byte × length

All delays are absolute deadlines from the kick that started them, so the emulator's own work
inside the window costs nothing extra. `CoreTiming()` (all zero) is fast mode: no modelled
delay, but replies still come from the core's own thread, after Linux's kick has returned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_WATCHDOG = 2.0
"""Seconds a core may stay inside one step of its firmware before its watchdog fires."""


@dataclass(frozen=True)
class CoreTiming:
    processing: float = 0.0
    """Seconds the core spends on each received message before its endpoint sees it."""
    irq_latency: float = 0.0
    """Seconds from a mailbox kick to the receiving side's interrupt handler (each way)."""
    per_byte: float = 0.0
    """Seconds per payload byte copied, once on receipt and once on sending."""
    watchdog: float = DEFAULT_WATCHDOG
    """Seconds the firmware may block its core before the watchdog crashes the core."""

    def __post_init__(self) -> None:
        for name in ("processing", "irq_latency", "per_byte", "watchdog"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"timing {name} must be a finite number ≥ 0, not {value!r}")
        if self.watchdog <= 0:
            raise ValueError("timing watchdog must be > 0 seconds")

    @property
    def modelled(self) -> bool:
        """False in fast mode: no delay to wait for anywhere."""
        return bool(self.processing or self.irq_latency or self.per_byte)

    def receive_cost(self, length: int) -> float:
        return self.processing + self.per_byte * length

    def round_trip(self, length: int) -> float:
        """What an echo of `length` bytes takes on this core, by the model."""
        return 2 * self.irq_latency + self.processing + 2 * self.per_byte * length
