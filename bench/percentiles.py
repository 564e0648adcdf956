"""The one percentile the benchmark scripts report (linear interpolation between closest ranks,
as numpy's default): nan for no values, the value itself for one."""
from __future__ import annotations


def pct(values, p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)
