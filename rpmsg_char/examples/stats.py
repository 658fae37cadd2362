"""Latency statistics for the benchmark: nearest-rank percentiles and a text histogram."""

import math


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of the samples at or below it."""
    if not sorted_values:
        raise ValueError("no samples")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def histogram(values: list[float], bins: int = 10, width: int = 40) -> list[str]:
    """Equal-width bins from min to max, one line each: `lo - hi us | count ####`."""
    low, high = min(values), max(values)
    step = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / step), bins - 1)] += 1
    if high == low:
        counts, bins = counts[:1], 1
    peak = max(counts)
    lines = []
    for i, count in enumerate(counts):
        lo, hi = low + i * step, (low + (i + 1) * step if bins > 1 else high)
        bar = "#" * (math.ceil(count / peak * width) if count else 0)
        lines.append(f"{lo:10.1f} - {hi:10.1f} us | {count:8d} {bar}".rstrip())
    return lines
