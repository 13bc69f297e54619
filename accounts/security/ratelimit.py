"""Rate limits of the public forms, counted in the cache per client address.

One counter per flow ("reset", "signup", ...) and client address, shared by the HTML page
and the API route of that flow, so switching transport does not buy more attempts. A rate
is DRF's `N/period` string (`5/hour`, `10/min`, `100/day`; the period's first letter is
what counts: s, m, h, d). Counting is per fixed window of one period: at most N requests
in a window, and a refused one is told how many seconds are left of it (Retry-After).

If the cache cannot be reached the request is let through (with a warning in the log):
a limit on e-mail floods is not worth an outage of sign-up and reset.
"""

import hashlib
import logging
import math
import time
from typing import Any

from django.core import checks
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import ngettext

from accounts import revocation
from accounts.conf import kit_settings
from accounts.security.client_ip import client_ip

logger = logging.getLogger("accounts.security.ratelimit")

_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _now() -> float:
    """Seconds since the epoch; the one clock of this module (tests move it)."""
    return time.time()


def parse_rate(rate: str) -> tuple[int, int]:
    """`"5/hour"` -> (5, 3600). Raises ValueError for anything else."""
    count, _, period = str(rate).partition("/")
    seconds = _PERIOD_SECONDS.get(period.strip()[:1].lower())
    if not count.strip().isdigit() or int(count) < 1 or seconds is None:
        raise ValueError(f"{rate!r} is not a rate like '5/hour' (N/second|minute|hour|day).")
    return int(count), seconds


def _window(flow: str, key: str, seconds: int) -> tuple[str, int]:
    """The cache key of the current window, and the seconds left in it."""
    now = _now()
    number = int(now // seconds)
    # Hashed: bounded length and any character allowed in `key`.
    digest = hashlib.sha256(f"{flow}\0{key}".encode()).hexdigest()[:32]
    return f"ratelimit:{flow}:{digest}:{number}", max(1, math.ceil((number + 1) * seconds - now))


def rate_limit_hit(*, flow: str, key: str, rate: str) -> int | None:
    """Count one request of `key` in `flow`. Returns the seconds to wait when this request
    is over the limit (refuse it), else None."""
    limit, seconds = parse_rate(rate)
    cache_key, retry_after = _window(flow, key, seconds)
    if not revocation.cache_available():
        return None  # the breaker is open: as when the cache cannot be reached
    try:
        if cache.add(cache_key, 1, timeout=seconds + 1):
            count = 1
        else:
            try:
                count = cache.incr(cache_key)
            except ValueError:  # expired between the two calls: a new window
                cache.add(cache_key, 1, timeout=seconds + 1)
                count = 1
    except Exception:
        revocation.cache_unavailable()
        logger.warning("rate limit %s not counted: the cache cannot be reached", flow)
        return None
    return retry_after if count > limit else None


def rate_limit_reached(*, flow: str, key: str, rate: str) -> int | None:
    """The seconds to wait when `key` has used up `flow`'s limit, else None; counts nothing
    (for checking before costly work, with the counting done on failure only)."""
    limit, seconds = parse_rate(rate)
    cache_key, retry_after = _window(flow, key, seconds)
    if not revocation.cache_available():
        return None
    try:
        count = cache.get(cache_key, 0)
    except Exception:
        revocation.cache_unavailable()
        logger.warning("rate limit %s not checked: the cache cannot be reached", flow)
        return None
    return retry_after if count >= limit else None


# The public forms' flows and the ACCOUNTS setting holding each one's rate.
RESET = "reset"
SIGNUP = "signup"
PASSKEY_SIGN_IN = "passkey_sign_in"
_FLOW_RATES = {
    RESET: "RESET_RATE",
    SIGNUP: "SIGNUP_RATE",
    PASSKEY_SIGN_IN: "PASSKEY_SIGN_IN_RATE",
}


def request_limit_hit(request: HttpRequest, *, flow: str) -> int | None:
    """Count this request of its client address against `flow`'s ACCOUNTS rate (RESET,
    SIGNUP or PASSKEY_SIGN_IN); the seconds to wait when it is over the limit, else None."""
    rate = getattr(kit_settings, _FLOW_RATES[flow])
    return rate_limit_hit(flow=flow, key=client_ip(request) or "", rate=rate)


@checks.register
def check_rates(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """accounts.E003: a rate setting that does not parse stops start-up, instead of every
    reset or sign-up answering 500."""
    errors: list[checks.CheckMessage] = []
    for name in (*_FLOW_RATES.values(), "API_KEY_FAILURE_RATE"):
        try:
            parse_rate(getattr(kit_settings, name))
        except ValueError as exc:
            errors.append(checks.Error(f"ACCOUNTS_{name}: {exc}", id="accounts.E003"))
    return errors


def retry_message(retry_after: int) -> str:
    """What a refused page says."""
    minutes = math.ceil(retry_after / 60)
    return ngettext(
        "Too many requests from your network. Try again in %(minutes)d minute.",
        "Too many requests from your network. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
