"""Optional per-core timing, so a slow core (or a slow interrupt path) can be modelled."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CoreTiming:
    processing: float = 0.0
    """Seconds the core spends on each received message before its endpoint sees it."""
    irq_latency: float = 0.0
    """Seconds between a mailbox kick arriving and the core's ISR handling it."""

    def __post_init__(self) -> None:
        if self.processing < 0 or self.irq_latency < 0:
            raise ValueError("timings must not be negative")
