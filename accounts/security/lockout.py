"""Brute-force protection for every sign-in that goes through `django.contrib.auth.authenticate`.

A failed sign-in is counted in the cache under the keys of its attempt:
- an untrusted client (no valid trust token of the account): the *account* and the
  client *address* (`request.client_ip`, which believes X-Forwarded-For only from
  TRUSTED_PROXIES);
- a trusted device (it presented a valid trust token of that very account, see
  accounts.security.device_trust): that *device* (the token) alone.
The account key is the account, not the name as typed: the normalised username of the
user the name resolves to (`get_by_natural_key`, the lookup authentication uses: username
or e-mail, any case), so every way of typing it shares one counter. A name is also
counted under its own normal form (`normalise_name`, which folds at least what the lookup
folds, and more) when that differs, and a name that resolves to nobody only under it. So
no variant of a name (case, Unicode look-alike, username or e-mail) gets a fresh counter
against an account, and a name locks and answers the same whether or not it exists (what
a probe can learn is only that a username and an address are one account, by locking it).

Counting starts at the first failure and lasts one window of ACCOUNTS["LOCKOUT_SECONDS"];
at the limit of its kind (ACCOUNTS["LOGIN_FAILURE_LIMIT"] for an account and a trusted
device, the higher ACCOUNTS["ADDRESS_FAILURE_LIMIT"] for an address, so one person does
not lock out everyone behind an office's or a carrier's address) that key is locked for
ACCOUNTS["LOCKOUT_SECONDS"]. A trusted device is refused only by its own lock: the owner
signs in while an attacker keeps the account locked, and a stolen token buys only its
small budget. A token never skips the password.

While locked, `LockoutModelBackend` (the AUTHENTICATION_BACKENDS entry) raises
PermissionDenied before the password hasher runs: Django's authenticate() then returns
None (a backend cannot raise through it), so the backend marks the request, and this
module alone reads the mark: `lockout_refusal(request)` gives the domain error
(accounts.errors.LockedOut, `retry_after` seconds) to the sign-in paths, and
`LockoutMiddleware` turns every HTML page that was refused so (the admin's login too) into
a 429 with Retry-After. Known and unknown names cost the same: one indexed query, the same
cache round trip, and a password hash (a dummy one for nobody).

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
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, Q
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

from accounts import revocation
from accounts.conf import kit_settings
from accounts.devices.cookies import TRUST_COOKIE
from accounts.errors import LockedOut
from accounts.security.client_ip import client_ip
from accounts.security.device_trust import TrustToken, trust_token_read

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger("accounts.security.lockout")

ACCOUNT = "account"
ADDRESS = "address"
DEVICE = "device"
_LIMIT_SETTINGS = {
    ACCOUNT: "LOGIN_FAILURE_LIMIT",
    DEVICE: "LOGIN_FAILURE_LIMIT",
    ADDRESS: "ADDRESS_FAILURE_LIMIT",
}


def _now() -> float:
    """Seconds since the epoch; the one clock of this module (tests move it)."""
    return time.time()


def _limit(kind: str) -> int:
    return getattr(kit_settings, _LIMIT_SETTINGS[kind])


def _lockout_seconds() -> int:
    return kit_settings.LOCKOUT_SECONDS


def normalise_name(name: str) -> str:
    """One form for every spelling of a sign-in name that could reach the same account.

    It folds at least what the lookup folds (LOWER/UPPER on PostgreSQL, Python's case
    mapping), and more: compatibility forms (NFKC: full-width letters, ligatures, the
    Kelvin sign), diacritics, and case by upper-then-casefold (the dotless i U+0131 and
    the dotted I U+0130 become `i`, `ß` becomes `ss`). Folding more only makes look-alike
    names share a counter.
    """
    decomposed = unicodedata.normalize("NFKD", str(name).strip())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", bare.upper().casefold())[:254]


@dataclass(frozen=True)
class Attempt:
    """One sign-in: the name typed, the account it counts for, the keys it is checked
    and counted under ((kind, value) pairs)."""

    name: str
    account: str
    keys: tuple[tuple[str, str], ...]


def _resolve(name: str) -> "User | None":
    """The user a sign-in name belongs to, or None: the lookup of authentication."""
    model = get_user_model()
    try:
        return model._default_manager.get_by_natural_key(name)
    except model.DoesNotExist:
        return None


def presented_trust_tokens(
    request: HttpRequest | None, device_trust_token: str | None = None
) -> list[TrustToken]:
    """The trust tokens a sign-in presents whose signature and age hold: the one in its
    body (passed in by the transport) and the `device_trust` cookie. Read before the user
    is looked up, so a known and an unknown name cost the same."""
    raw = [device_trust_token]
    if request is not None:
        raw.append(request.COOKIES.get(TRUST_COOKIE))
    read = (trust_token_read(token=token) for token in raw if token)
    return [token for token in read if token is not None]


def sign_in_attempt(
    request: HttpRequest | None,
    *,
    name: str,
    user: "User | None",
    trust_tokens: Iterable[TrustToken] = (),
) -> Attempt:
    """The attempt to sign in to `user` (None: nobody) by typing `name`."""
    account = normalise_name(user.get_username() if user is not None else name)
    trusted = next((t for t in trust_tokens if t.vouches_for(user)), None)
    if trusted is not None:
        return Attempt(name=name, account=account, keys=((DEVICE, trusted.device),))
    keys = [(ACCOUNT, account)]
    typed = normalise_name(name)
    if typed != account:
        # Typed otherwise than the username (the e-mail address): that name is counted
        # too, so it answers as it would if it named nobody.
        keys.append((ACCOUNT, typed))
    address = client_ip(request)
    if address:
        keys.append((ADDRESS, address))
    return Attempt(name=name, account=account, keys=tuple(keys))


def _cache_key(part: str, kind: str, value: str) -> str:
    # Hashed: bounded length, any character allowed, and no sign-in name in the cache.
    digest = hashlib.sha256(value.encode()).hexdigest()[:40]
    return f"lockout:{part}:{kind}:{digest}"


def lockout_message(retry_after: int) -> str:
    """What a locked-out person reads (form error, API detail)."""
    minutes = math.ceil(retry_after / 60)
    return (
        "Too many failed sign-in attempts. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


def _retry_after(locked_until: float) -> int:
    return max(1, math.ceil(locked_until - _now()))


def attempt_retry_after(attempt: Attempt) -> int | None:
    """Seconds until this attempt may be tried again, or None when none of its keys is
    locked."""
    if not revocation.cache_available():  # the breaker is open: as when the cache is down
        return _retry_after_from_database(attempt)
    try:
        locked = cache.get_many([_cache_key("until", kind, value) for kind, value in attempt.keys])
        latest = max(locked.values(), default=None)
    except Exception:  # the cache is down: the database knows every lockout that started
        revocation.cache_unavailable()
        logger.warning("lockout: cache unreachable, checking lockouts in the database")
        return _retry_after_from_database(attempt)
    if latest is None or latest <= _now():
        return None
    return _retry_after(latest)


def _retry_after_from_database(attempt: Attempt) -> int | None:
    latest = _latest_lockout_in_database(attempt.keys)
    if latest is None or latest <= _now():
        return None
    return _retry_after(latest)


def _latest_lockout_in_database(keys: Iterable[tuple[str, str]]) -> float | None:
    from accounts.models import Lockout

    matches = Q()
    for kind, value in keys:
        matches |= Q(kind=kind, value=value)
    until = Lockout.objects.filter(matches).aggregate(until=Max("locked_until"))["until"]
    return until.timestamp() if until else None


def register_failure(request: HttpRequest | None, attempt: Attempt) -> None:
    """Count one failed sign-in under each key of the attempt; lock a key past its limit."""
    window = _lockout_seconds()
    if not revocation.cache_available():
        return  # the breaker is open: as when the cache is unreachable
    for kind, value in attempt.keys:
        counter = _cache_key("failures", kind, value)
        try:
            # add() opens the window (TTL = window) for the first failure; incr() keeps it.
            failures = 1 if cache.add(counter, 1, timeout=window) else cache.incr(counter)
        except ValueError:  # the window closed between add() and incr(): a new one opens
            cache.add(counter, 1, timeout=window)
            failures = 1
        except Exception:
            revocation.cache_unavailable()
            logger.warning("lockout: cache unreachable, failed sign-in not counted")
            return
        if failures >= _limit(kind):
            _lock(request, kind, value, failures, account=attempt.account)


def _lock(
    request: HttpRequest | None, kind: str, value: str, failures: int, *, account: str
) -> None:
    """Start a lockout once (cache.add wins for one of concurrent failures) and list it."""
    from accounts.models import AuthEvent, Lockout
    from accounts.security.audit import record_event

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
            username="" if kind == ADDRESS else account,
            lockout=kind,
            failures=failures,
            seconds=seconds,
        )


def clear_lockout(kind: str, value: str) -> None:
    """End the lockout and forget the failures of one account, address or trusted device
    (admin, tests)."""
    from accounts.models import Lockout

    cache.delete_many([_cache_key(part, kind, value) for part in ("failures", "until")])
    Lockout.objects.filter(kind=kind, value=value).delete()


def reset_account(username: str) -> None:
    """Forget the failures and lockout of the account a sign-in name resolves to (or of
    the name's normal form when it resolves to nobody)."""
    user = _resolve(username)
    clear_lockout(ACCOUNT, normalise_name(user.get_username() if user else username))


class LockoutModelBackend(ModelBackend):
    """Django's ModelBackend behind the lockout: a locked-out sign-in is refused before the
    password hasher runs.

    The kit's one authentication backend (so `login(request, user)` needs no `backend=`
    argument). It is ModelBackend's authenticate() with the lock check between the lookup
    and the password check: the user is looked up once (the attempt's account), then the
    real or the dummy hash runs as in Django. Raising PermissionDenied makes
    `authenticate()` stop and send `user_login_failed`, as for a wrong password.
    `device_trust_token` (a credential the transports pass from a body) and the
    `device_trust` cookie may exempt the sign-in from the account lock, never from the
    password.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        device_trust_token: str | None = None,
        **kwargs: Any,
    ) -> "User | None":
        model = get_user_model()
        if username is None:
            username = kwargs.get(model.USERNAME_FIELD)
        if username is None or password is None:
            return None
        trust_tokens = presented_trust_tokens(request, device_trust_token)
        user = _resolve(username)
        attempt = sign_in_attempt(request, name=username, user=user, trust_tokens=trust_tokens)
        retry_after = attempt_retry_after(attempt)
        if retry_after is not None:
            if request is not None:
                _mark_locked(request, retry_after)
            raise PermissionDenied(lockout_message(retry_after))
        if request is not None:
            # read back by _count_failure and _reset_on_success, on the same request object
            request.lockout_attempt = attempt  # type: ignore[attr-defined]
        if user is None:
            # Hash once anyway, as ModelBackend does, so an unknown name costs the same.
            model().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> "User | None":
        # Not ModelBackend's own async lookup, which would skip the lockout.
        return await sync_to_async(self.authenticate)(
            request, username=username, password=password, **kwargs
        )


# The mark Django's authenticate() path forces on us: set on the request object the
# sign-in was given (an HttpRequest, or DRF's Request, whose signal receivers get the same
# object), read only by this module.
_MARK = "lockout_retry_after"


def _mark_locked(request: HttpRequest, retry_after: int) -> None:
    setattr(request, _MARK, retry_after)


def _marked_retry_after(request: HttpRequest | None) -> int | None:
    return None if request is None else getattr(request, _MARK, None)


def lockout_refusal(request: HttpRequest | None) -> LockedOut | None:
    """The lockout that refused this request's sign-in, or None when it refused nothing
    (the credentials were simply wrong). For the paths that call Django's authenticate(),
    which answers None either way."""
    retry_after = _marked_retry_after(request)
    return None if retry_after is None else LockedOut(retry_after, lockout_message(retry_after))


def user_attempt(
    request: HttpRequest | None, user: "User", device_trust_token: str | None = None
) -> Attempt:
    """The lockout attempt of a known `user` proving who they are again (a password
    re-check, a second factor): the account, the request's client address and the trust
    tokens it presents."""
    return sign_in_attempt(
        request,
        name=user.get_username(),
        user=user,
        trust_tokens=presented_trust_tokens(request, device_trust_token),
    )


def attempt_locked_check(request: HttpRequest | None, attempt: Attempt) -> None:
    """LockedOut while `attempt` is locked out, before any secret is checked; the request
    is marked, so LockoutMiddleware answers 429 with Retry-After whatever view renders."""
    retry_after = attempt_retry_after(attempt)
    if retry_after is not None:
        if request is not None:
            _mark_locked(request, retry_after)
        raise LockedOut(retry_after, lockout_message(retry_after))


def verify_password(request: HttpRequest | None, user: "User", raw_password: str) -> bool:
    """`user.check_password` behind the lockout, for routes that re-check the password of a
    signed-in user (password change): False when wrong (counted as a failure); LockedOut
    while locked (without hashing; the request is marked, so an HTML page becomes a 429)."""
    attempt = user_attempt(request, user)
    attempt_locked_check(request, attempt)
    if user.check_password(raw_password):
        return True
    register_failure(request, attempt)
    return False


@receiver(user_login_failed, dispatch_uid="accounts.lockout.count_failure")
def _count_failure(
    sender: str, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if _marked_retry_after(request) is not None:
        return  # refused because already locked: do not extend or restart the lockout
    name = credentials.get("username") or credentials.get(get_user_model().USERNAME_FIELD)
    attempt = getattr(request, "lockout_attempt", None)
    if attempt is None or attempt.name != name:
        # Not seen by the backend (authenticate() without a request, another backend's
        # credentials): the account and the address, as for an untrusted client.
        if not name:
            return
        attempt = sign_in_attempt(request, name=name, user=_resolve(name))
    register_failure(request, attempt)


@receiver(user_logged_in, dispatch_uid="accounts.lockout.reset_on_success")
def _reset_on_success(
    sender: type, request: HttpRequest | None, user: "User", **kwargs: Any
) -> None:
    """A successful sign-in clears the failure count of its account and of its trusted
    device (never the address's: one valid account must not let an address keep guessing
    at others). An account's running lock is not lifted: it ends on its own."""
    counters = {_cache_key("failures", ACCOUNT, normalise_name(user.get_username()))}
    attempt = getattr(request, "lockout_attempt", None)
    if attempt is not None:
        counters |= {_cache_key("failures", k, v) for k, v in attempt.keys if k != ADDRESS}
    if not revocation.cache_available():
        return
    try:
        cache.delete_many(sorted(counters))
    except Exception:
        revocation.cache_unavailable()
        logger.warning("lockout: cache unreachable, failure count not reset")


class LockoutMiddleware:
    """Answers 429 with Retry-After to any request whose sign-in the lockout refused.

    Views keep rendering their own body (a form error, a JSON code); this only fixes the
    status and the header, so every login view, including the admin's, behaves the same.
    Redirects and server errors pass through untouched.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        retry_after = _marked_retry_after(request)
        if retry_after is not None and response.status_code in (200, 400, 401, 403, 429):
            response.status_code = HTTPStatus.TOO_MANY_REQUESTS
            response.reason_phrase = "Too Many Requests"
            response["Retry-After"] = str(retry_after)
        return response
