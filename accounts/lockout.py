"""Brute-force protection for every sign-in that goes through `django.contrib.auth.authenticate`.

Failed sign-ins are counted in the cache twice: per account (the sign-in name as typed,
stripped and case-folded, whether or not such a user exists) and per client address
(`request.client_ip`, which believes X-Forwarded-For only from TRUSTED_PROXIES). Counting
starts at the first failure and lasts one window of ACCOUNTS["LOCKOUT_SECONDS"]; when a
counter reaches ACCOUNTS["LOGIN_FAILURE_LIMIT"] within it, that account or address is
locked for ACCOUNTS["LOCKOUT_SECONDS"].

While locked, `LockoutModelBackend` (the AUTHENTICATION_BACKENDS entry) raises
PermissionDenied, so `authenticate()` stops before the password hasher runs, and it records
`request.lockout_retry_after` (seconds). An unknown name locks exactly like a real one, so
the refusal reveals nothing about which accounts exist.

The counters live in the cache (atomic add/incr, one round trip each); only the start of a
lockout writes a row (`Lockout`), so staff can list and clear lockouts in the admin without
the database taking a write per attempt. If the cache cannot be reached, the lock check
falls back to those rows (a known lockout keeps holding) and failures go uncounted, with a
warning in the log.
"""

import hashlib
import logging
import math
import time
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, Q
from django.dispatch import receiver
from rest_framework import status

logger = logging.getLogger("accounts.lockout")

ACCOUNT = "account"
ADDRESS = "address"


def _now():
    """Seconds since the epoch; the one clock of this module (tests move it)."""
    return time.time()


def _limit():
    return settings.ACCOUNTS["LOGIN_FAILURE_LIMIT"]


def _lockout_seconds():
    return settings.ACCOUNTS["LOCKOUT_SECONDS"]


def normalise_username(username):
    """The account key of a sign-in name as typed: 'Alice ' and 'alice' share one counter."""
    return str(username).strip().casefold()[:254]


def _keys_for(request, username):
    """The (kind, value) pairs a sign-in attempt is counted under."""
    keys = []
    if username:
        keys.append((ACCOUNT, normalise_username(username)))
    address = _address_of(request)
    if address:
        keys.append((ADDRESS, address))
    return keys


def _address_of(request):
    if request is None:
        return None
    return getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR") or None


def _cache_key(part, kind, value):
    # Hashed: bounded length, any character allowed, and no sign-in name in the cache.
    digest = hashlib.sha256(value.encode()).hexdigest()[:40]
    return f"lockout:{part}:{kind}:{digest}"


def lockout_message(retry_after):
    """What a locked-out person reads (form error, API detail)."""
    minutes = math.ceil(retry_after / 60)
    return (
        "Too many failed sign-in attempts. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


def _retry_after(locked_until):
    return max(1, math.ceil(locked_until - _now()))


def lockout_retry_after(request, username):
    """Seconds until this sign-in may be tried again, or None when it is not locked."""
    keys = _keys_for(request, username)
    if not keys:
        return None
    try:
        locked = cache.get_many([_cache_key("until", kind, value) for kind, value in keys])
        latest = max(locked.values(), default=None)
    except Exception:  # the cache is down: the database knows every lockout that started
        logger.warning("lockout: cache unreachable, checking lockouts in the database")
        latest = _latest_lockout_in_database(keys)
    if latest is None or latest <= _now():
        return None
    return _retry_after(latest)


def _latest_lockout_in_database(keys):
    from accounts.models import Lockout

    matches = Q()
    for kind, value in keys:
        matches |= Q(kind=kind, value=value)
    until = Lockout.objects.filter(matches).aggregate(until=Max("locked_until"))["until"]
    return until.timestamp() if until else None


def register_failure(request, username):
    """Count one failed sign-in against the account and the address; lock past the limit."""
    window = _lockout_seconds()
    for kind, value in _keys_for(request, username):
        counter = _cache_key("failures", kind, value)
        try:
            # add() opens the window (TTL = window) for the first failure; incr() keeps it.
            failures = 1 if cache.add(counter, 1, timeout=window) else cache.incr(counter)
        except ValueError:  # the window closed between add() and incr(): a new one opens
            cache.add(counter, 1, timeout=window)
            failures = 1
        except Exception:
            logger.warning("lockout: cache unreachable, failed sign-in not counted")
            return
        if failures >= _limit():
            _lock(request, kind, value, failures)


def _lock(request, kind, value, failures):
    """Start a lockout once (cache.add wins for one of concurrent failures) and list it."""
    from accounts.audit import record_event
    from accounts.models import AuthEvent, Lockout

    seconds = _lockout_seconds()
    locked_until = _now() + seconds
    if not cache.add(_cache_key("until", kind, value), locked_until, timeout=seconds):
        return
    # A new count starts after the lockout, not on top of the failures that caused it.
    cache.delete(_cache_key("failures", kind, value))
    until = datetime.fromtimestamp(locked_until, tz=UTC)
    now = datetime.fromtimestamp(_now(), tz=UTC)
    with transaction.atomic():
        # Lockouts are rare, so this is where ended ones are swept away.
        Lockout.objects.filter(locked_until__lte=now).delete()
        Lockout.objects.update_or_create(
            kind=kind,
            value=value,
            defaults={"locked_at": now, "locked_until": until, "failures": failures},
        )
        record_event(
            AuthEvent.Kind.LOGIN_LOCKED_OUT,
            request=request,
            username=value if kind == ACCOUNT else "",
            lockout=kind,
            failures=failures,
            seconds=seconds,
        )


def clear_lockout(kind, value):
    """End the lockout and forget the failures of one account or address (admin, tests)."""
    from accounts.models import Lockout

    cache.delete_many([_cache_key(part, kind, value) for part in ("failures", "until")])
    Lockout.objects.filter(kind=kind, value=value).delete()


def reset_account(username):
    """Forget an account's failures and lockout, e.g. after a password reset by its owner."""
    clear_lockout(ACCOUNT, normalise_username(username))


class LockoutModelBackend(ModelBackend):
    """Django's ModelBackend behind the lockout: a locked-out sign-in is refused before the
    password hasher runs.

    The kit's one authentication backend (so `login(request, user)` needs no `backend=`
    argument). Raising PermissionDenied makes `authenticate()` stop and send
    `user_login_failed`, exactly as for a wrong password.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if password is not None:
            name = username or kwargs.get(get_user_model().USERNAME_FIELD)
            retry_after = lockout_retry_after(request, name)
            if retry_after is not None:
                if request is not None:
                    _mark_locked(request, retry_after)
                raise PermissionDenied(lockout_message(retry_after))
        return super().authenticate(request, username=username, password=password, **kwargs)


def _mark_locked(request, retry_after):
    # On the Django request even when DRF's Request wraps it, so views, forms and
    # LockoutMiddleware all see it.
    getattr(request, "_request", request).lockout_retry_after = retry_after


def verify_password(request, user, raw_password):
    """`user.check_password` behind the lockout, for routes that re-check the password of a
    signed-in user (password change): False while locked (without hashing, and with
    `request.lockout_retry_after` set) or when wrong (counted as a failure)."""
    name = user.get_username()
    retry_after = lockout_retry_after(request, name)
    if retry_after is not None:
        _mark_locked(request, retry_after)
        return False
    if user.check_password(raw_password):
        return True
    register_failure(request, name)
    return False


@receiver(user_login_failed, dispatch_uid="accounts.lockout.count_failure")
def _count_failure(sender, credentials, request=None, **kwargs):
    if request is not None and getattr(request, "lockout_retry_after", None) is not None:
        return  # refused because already locked: do not extend or restart the lockout
    username = credentials.get("username") or credentials.get(get_user_model().USERNAME_FIELD)
    register_failure(request, username)


@receiver(user_logged_in, dispatch_uid="accounts.lockout.reset_on_success")
def _reset_on_success(sender, request, user, **kwargs):
    """A successful sign-in clears its account's failure count (never the address's:
    one valid account must not let an address keep guessing at others)."""
    names = {user.get_username(), getattr(user, "email", "")} - {""}
    try:
        cache.delete_many([_cache_key("failures", ACCOUNT, normalise_username(n)) for n in names])
    except Exception:
        logger.warning("lockout: cache unreachable, failure count not reset")


class LockoutMiddleware:
    """Answers 429 with Retry-After to any request whose sign-in the lockout refused.

    Views keep rendering their own body (a form error, a JSON code); this only fixes the
    status and the header, so every login view, including the admin's, behaves the same.
    Redirects and server errors pass through untouched.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        retry_after = getattr(request, "lockout_retry_after", None)
        if retry_after is not None and response.status_code in (200, 400, 401, 403, 429):
            response.status_code = status.HTTP_429_TOO_MANY_REQUESTS
            response.reason_phrase = "Too Many Requests"
            response["Retry-After"] = str(retry_after)
        return response


def too_many_attempts_response(request):
    """For API views, after `authenticate()` returned None: the contract's 429, or None.

    `429 {"code": "too_many_attempts", "detail": ...}` with Retry-After when the lockout
    refused this request's sign-in; None when the credentials were simply wrong.
    """
    from api.exceptions import api_error

    retry_after = getattr(request, "lockout_retry_after", None)
    if retry_after is None:
        return None
    response = api_error(
        "too_many_attempts", lockout_message(retry_after), status.HTTP_429_TOO_MANY_REQUESTS
    )
    response["Retry-After"] = str(retry_after)
    return response
