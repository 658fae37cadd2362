"""The benchmark's latency statistics."""

from rpmsg_char.examples.stats import histogram, percentile


def test_benchmark_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (50, 90, 99, 100)] == [50.0, 90.0, 99.0, 100.0]
    assert percentile([7.0], 99) == 7.0


def test_benchmark_histogram_counts_every_sample_once():
    lines = histogram([1.0, 1.5, 2.0, 10.0], bins=3, width=10)
    assert [int(line.split("|")[1].split()[0]) for line in lines] == [3, 0, 1]
    assert lines[0].endswith("#" * 10)
    assert histogram([5.0, 5.0]) == ["       5.0 -        5.0 us |        2 " + "#" * 40]
