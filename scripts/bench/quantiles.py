"""Summaries that hold up on a noisy machine: medians and tail quantiles, never means alone."""
from __future__ import annotations

import statistics


def quantile(sorted_samples: list[int], q: float) -> int:
    """Nearest-rank quantile of already sorted samples."""
    index = min(len(sorted_samples) - 1, max(0, round(q * len(sorted_samples)) - 1))
    return sorted_samples[index]


def latency_summary(samples_ns: list[int], round_medians_ns: list[int]) -> dict[str, float]:
    """Median, p99 and mean in µs of all samples pooled, plus the spread of per-round medians."""
    ordered = sorted(samples_ns)
    return {
        "n": len(ordered),
        "median_us": quantile(ordered, 0.5) / 1000,
        "p99_us": quantile(ordered, 0.99) / 1000,
        "mean_us": statistics.fmean(ordered) / 1000,
        "round_medians_us": [m / 1000 for m in round_medians_ns],
    }


def ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return value / baseline
