"""The one percentile of the benchmarks and reports (assistant/evaluation/stats.py)."""

from __future__ import annotations

import math

from assistant.evaluation.stats import percentile


def test_percentiles_are_latencies_some_request_really_had() -> None:
    values = [0.010, 0.020, 0.030, 0.040, 1.000]
    assert percentile(values, 50) == 0.030
    assert percentile(values, 95) == 1.000
    assert percentile(values, 0) == 0.010
    assert percentile([0.5], 99) == 0.5
    assert percentile([1, 2, 3, 4], 50) == 2  # never the 2.5 no request took


def test_no_values_have_no_percentile() -> None:
    assert math.isnan(percentile([], 50))
