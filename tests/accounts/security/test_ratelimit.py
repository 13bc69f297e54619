"""accounts.security.ratelimit: the counting behind the reset, sign-up and API-key limits."""

import pytest

from accounts.security import ratelimit


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("5/hour", (5, 3600)), ("10/min", (10, 60)), ("1/s", (1, 1)), ("100/day", (100, 86400))],
)
def test_rates_use_drf_syntax(rate, parsed):
    assert ratelimit.parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["", "5", "five/hour", "0/hour", "5/fortnight", "-1/m"])
def test_a_bad_rate_setting_stops_start_up(settings, rate):
    assert ratelimit.parse_rate("5/hour")
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SIGNUP_RATE": rate}
    [error] = ratelimit.check_rates()
    assert error.id == "accounts.E003"
    assert "ACCOUNTS_SIGNUP_RATE" in error.msg


def test_the_defaults_pass_the_check():
    assert ratelimit.check_rates() == []


def test_the_count_is_per_window_and_says_how_long_is_left(monkeypatch):
    now = [7200.0 + 600]  # ten minutes into an hour window
    monkeypatch.setattr(ratelimit, "_now", lambda: now[0])
    hits = [ratelimit.rate_limit_hit(flow="t", key="1.2.3.4", rate="2/hour") for _ in range(3)]
    assert hits == [None, None, 3000]
    assert ratelimit.rate_limit_reached(flow="t", key="1.2.3.4", rate="2/hour") == 3000
    assert ratelimit.rate_limit_hit(flow="t", key="5.6.7.8", rate="2/hour") is None
    now[0] = 7200.0 + 3600  # the next window
    assert ratelimit.rate_limit_reached(flow="t", key="1.2.3.4", rate="2/hour") is None
    assert ratelimit.rate_limit_hit(flow="t", key="1.2.3.4", rate="2/hour") is None
