"""The arithmetic of `make bench` and `make profile-load` (no server started)."""

import pytest

from bench.load_profile import frame_shares
from bench.run import Endpoint, relative_ratio, summarize


def _endpoint(key, rounds):
    endpoint = Endpoint(key, key, "GET", "/x/")
    endpoint.state = "ok"
    endpoint.rounds = rounds
    return endpoint


def test_each_round_is_taken_against_the_baseline_runs_around_it():
    rounds = [
        {"rps": 900.0, "p50_ms": 2.0, "p99_ms": 4.0, "adjacent_baseline_rps": 1000.0},
        {"rps": 600.0, "p50_ms": 3.0, "p99_ms": 5.0, "adjacent_baseline_rps": 500.0},
        {"rps": 800.0, "p50_ms": 2.5, "p99_ms": 4.5, "adjacent_baseline_rps": 1000.0},
    ]
    summary = summarize(_endpoint("kit_claims", rounds))
    assert summary["round_ratios"] == [0.9, 1.2, 0.8]
    assert summary["ratio_to_baseline"] == 0.9  # the median of the rounds' ratios
    assert summary["median_rps"] == 800.0


def test_a_ratio_between_two_endpoints_pairs_their_rounds():
    mine = {"round_ratios": [0.9, 0.8, 1.0]}
    theirs = {"round_ratios": [0.3, 0.4, 0.5]}
    assert relative_ratio(mine, theirs) == pytest.approx(2.0)  # median of 3.0, 2.0, 2.0


def test_frame_shares_count_a_frame_once_per_stack(tmp_path):
    stacks = tmp_path / "load.txt"
    stacks.write_text(
        "run (gunicorn/sync.py:1);handle (a/views.py:5);handle (a/views.py:5) 3\n"
        "run (gunicorn/sync.py:1);authenticate (api/authentication.py:9) 1\n"
    )
    shares, total = frame_shares(stacks)
    assert total == 4
    assert shares["run sync.py:1"] == 1.0
    assert shares["handle views.py:5"] == 0.75
    assert shares["authenticate authentication.py:9"] == 0.25
