"""The `[cores.<id>.faults]` table of a board: fault injection from the board file.

Keys and units as a board author writes them; remote_fw's FaultPlan gets them in seconds
(fusedev/kernel/remoteproc.py converts). Checked here so that a typo or an impossible value is
one line naming the key, like every other board error. docs/firmware.md, "Fault injection".
"""

from __future__ import annotations

import math
from typing import Any

COUNTS = ("drop_rx", "drop_tx", "crash_at_message")
FRACTIONS = ("drop_rx_fraction", "drop_tx_fraction")
TIMES = ("delay_us", "jitter_us", "crash_after_ms", "reannounce_after_ms")
FAULT_KEYS = (*COUNTS, *FRACTIONS, *TIMES, "stall", "withdraw", "endpoint", "seed")
UNITS = {"delay_us": ("delay", 1e-6), "jitter_us": ("jitter", 1e-6),
         "crash_after_ms": ("crash_after", 1e-3), "reannounce_after_ms": ("reannounce_after", 1e-3)}
"""Board key → (FaultPlan field, seconds per unit)."""


def fault_problem(key: str, value: Any) -> str | None:
    """Why `value` cannot be the fault key `key`, or None."""
    if key not in FAULT_KEYS:
        return f"unknown key; allowed: {', '.join(sorted(FAULT_KEYS))}"
    if key == "stall":
        return None if isinstance(value, bool) else f"{value!r} is not true or false"
    if key == "withdraw":
        if isinstance(value, str) and 0 < len(value.encode()) < 32 and "\0" not in value:
            return None
        return f"{value!r} is not a service name (1–31 bytes) or '*'"
    if key in COUNTS or key in ("endpoint", "seed"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{value!r} is not an integer ≥ 0"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if key in FRACTIONS and not 0 <= value <= 1:
        return f"{value!r} is not a fraction from 0 to 1"
    if value < 0:
        return f"{value!r} must be ≥ 0"
    return None


def parse_fault_word(key: str, text: str) -> Any:
    """The value of `key=text` as written on a command line or into debugfs; None when it
    is not even of the right kind (fault_problem then says why)."""
    if key == "withdraw":
        return text
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return None
