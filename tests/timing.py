"""Timing comparisons of the enumeration tests: "these cases cost the same" as a
statistical test with a fixed false-positive rate, robust to a busy machine.

`timing_gap(samples)` compares every case with the first one (the reference: a known
user with a wrong password) by a two-sided Mann-Whitney U test (normal approximation;
float timings have no ties). A case counts as different only when the test rejects at
ALPHA (split over the comparisons: if every case costs the same, the whole check fails at
most ALPHA of the runs) AND one median is more than RATIO times the other (a real leak,
such as skipping the password hash, is ~100x; noise that happens to be significant is a
few percent). Take the samples interleaved (case after case in each round), so a burst
of load hits every case alike.
"""

import math
import statistics

ALPHA = 1e-3  # false-positive rate of the whole check when every case costs the same
RATIO = 1.25  # the median gap that counts as a leak
# Per case: with 10 against 10 a case that is always faster (or slower) rejects at
# p = 1.6e-4 < ALPHA / 2, even with one overlap; each sample is one real Argon2 hash.
SAMPLES = 10


def _mann_whitney_p(a, b):
    """Two-sided p-value of the Mann-Whitney U test (normal approximation)."""
    ranked = sorted((value, group) for group, values in enumerate((a, b)) for value in values)
    rank_sum_a = sum(rank for rank, (_, group) in enumerate(ranked, start=1) if group == 0)
    n_a, n_b = len(a), len(b)
    u = rank_sum_a - n_a * (n_a + 1) / 2
    mean, sd = n_a * n_b / 2, math.sqrt(n_a * n_b * (n_a + n_b + 1) / 12)
    return math.erfc(abs(u - mean) / sd / math.sqrt(2))


def timing_gap(samples):
    """None when no case of `samples` ({case: [seconds, ...]}, the reference first) costs
    measurably more or less than the reference; else what differs."""
    reference, *others = samples
    for case in others:
        p = _mann_whitney_p(samples[reference], samples[case])
        medians = statistics.median(samples[reference]), statistics.median(samples[case])
        if p < ALPHA / len(others) and max(medians) > RATIO * min(medians):
            return (
                f"{case}: median {medians[1]:.4f}s against {medians[0]:.4f}s for "
                f"{reference} (p={p:.1e})"
            )
    return None
