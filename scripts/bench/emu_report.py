"""The plain-text table of the emulator-only measurements of one pass."""
from __future__ import annotations

from typing import Any


def _f(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f}"


def emu_table(result: dict[str, Any]) -> str:
    """Streams, life cycles, scale and the J784S4 board, with ratios to the C floor."""
    lines = [f"emulator start-up to DIR/dev/rpmsg_ctrl0: {_f(result['startup_ms'], '.0f')} ms", "",
             f"{'firmware stream 496 B':<26}{'msg/s':>10}{'MB/s':>8}{'×C':>7}"]
    for name, label in (("sink", "write to sink (×C write)"),
                        ("source", "read from source (×C read)")):
        r = result[name]
        lines.append(f"{label:<26}{r['msgs_per_s']:>10.0f}{r['MB_per_s']:>8.1f}"
                     f"{_f(r['ratio'], '.2f'):>7}")
    life = result["lifecycle"]
    lines += ["", f"rpmsg_char_open+close: {life['cycles_per_s']:.0f} cycles/s "
                  f"({life['us_per_cycle']:.0f} µs each, full sysfs walk)", "",
              f"{'endpoints open':<16}{'median µs':>10}{'p99 µs':>9}{'×C':>7}{'×one':>7}"
              f"{'RSS MiB':>9}"]
    for row in result["scale"]:
        lines.append(f"{row['endpoints']:<16}{row['median_us']:>10.1f}{row['p99_us']:>9.1f}"
                     f"{_f(row['ratio_median'], '.2f'):>7}{_f(row['ratio_to_one'], '.2f'):>7}"
                     f"{_mib(row['rss_kib']):>9}")
    big = result["j784s4"]
    lines += ["", f"J784S4, {big['cores']} cores running echo: start-up "
                  f"{big['startup_ms']:.0f} ms, RSS {_mib(big['rss_kib'])} MiB, round trip "
                  f"first core {big['first_core']['median_us']:.1f} µs "
                  f"({_f(big['first_core']['ratio_median'], '.2f')}×C), last core "
                  f"{big['last_core']['median_us']:.1f} µs "
                  f"({_f(big['last_core']['ratio_median'], '.2f')}×C)"]
    return "\n".join(lines)
