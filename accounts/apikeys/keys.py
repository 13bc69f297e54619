"""API keys: issue, authenticate, revoke. Views, the admin, commands and tests call these.

A key reads `kit_<prefix>_<secret>`: a fixed `kit_` so secret scanners find leaked keys
(regex `KEY_REGEX`), a public 8-character prefix that finds the row, and a 40-character
random secret. Only the HMAC-SHA256 of the whole key, keyed with
`settings.API_KEY_HASH_SECRET`, is stored.

Speed: with a shared cache (Redis), a known key's state is cached under its prefix, so a
request with it makes no database query. The database stays the source of truth:
revocation writes the revoked state through to the cache after commit, a miss re-reads
the row and repopulates with `cache.add` (which never overwrites a fresher write), and a
cache error falls back to the database instead of failing open (one warning), and a
revocation that could not be written through is replayed into the cache before it is
trusted again (accounts.revocation.repair). A per-process cache
(local memory) cannot be written through across workers, so with one the cache is not
used for keys at all: one SELECT per request, and revocation is still immediate.

Floods: failed keys are counted per client address (ACCOUNTS["API_KEY_FAILURE_RATE"]);
past the limit a key that would need a database lookup is refused before it, and every
further failure, with ApiKeyThrottledError (429). Refusals are audited at most once a
minute per prefix and reason, and an unknown prefix (random keys) at most once a minute
per client address, so neither a retrying client nor a flood of made-up keys fills the
audit table.
"""

import functools
import hashlib
import hmac
import re
import string
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts import revocation
from accounts.conf import kit_settings
from accounts.errors import ApiKeyInvalid, ApiKeyThrottled
from accounts.models import ApiKey, AuthEvent, User
from accounts.security import ratelimit
from accounts.security.audit import record_event
from accounts.security.client_ip import client_ip

PREFIX_LENGTH = 8
SECRET_LENGTH = 40
# What secret scanners (GitHub, gitleaks, trufflehog) should look for.
KEY_REGEX = r"\bkit_[a-z0-9]{8}_[A-Za-z0-9]{40}\b"
_KEY_PATTERN = re.compile(r"kit_([a-z0-9]{8})_[A-Za-z0-9]{40}")

# Seconds a key's state stays cached (bounds staleness only if a write-through failed).
CACHE_TIMEOUT = 300
# Seconds between two writes of `last_used_at`, and between two audit rows for the same
# refused prefix (a client retrying a bad key should not flood the audit table).
LAST_USED_INTERVAL = 60
REFUSAL_AUDIT_INTERVAL = 60
# The ratelimit flow of failed keys (per client address, ACCOUNTS["API_KEY_FAILURE_RATE"]).
FAILURE_FLOW = "api_key_failures"

# The row's fields the authentication path needs; cached as a plain dict.
_STATE_FIELDS = (
    "id",
    "name",
    "prefix",
    "hashed_secret",
    "scopes",
    "owner_id",
    "created_at",
    "expires_at",
    "revoked_at",
)


# The domain errors (accounts.errors) under the names this module has always raised.
InvalidApiKeyError = ApiKeyInvalid
ApiKeyThrottledError = ApiKeyThrottled


def hash_api_key(raw_key: str) -> str:
    """HMAC-SHA256 of the full key, keyed with API_KEY_HASH_SECRET (hex)."""
    mac = _keyed_hmac(settings.API_KEY_HASH_SECRET).copy()
    mac.update(raw_key.encode())
    return mac.hexdigest()


@functools.lru_cache(maxsize=2)
def _keyed_hmac(secret: str) -> "hmac.HMAC":
    """The HMAC state after the key (a copy of it skips keying it again on every request)."""
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def create_api_key(
    *,
    name: str,
    scopes: Iterable[str],
    owner: User | None = None,
    expires_at: datetime | None = None,
    actor: str = "",
) -> tuple[ApiKey, str]:
    """Create a key; return `(api_key, raw_key)`. The raw key exists only in the return
    value: show it once and forget it. Raises ValidationError for bad input."""
    api_key = ApiKey(name=name, scopes=list(scopes), owner=owner, expires_at=expires_at)
    return api_key, issue_api_key(api_key, actor=actor)


def issue_api_key(api_key: ApiKey, *, actor: str = "") -> str:
    """Give an unsaved ApiKey its prefix and hashed secret, validate and save it (with its
    audit event); return the raw key. The admin calls this with the instance its form
    built; everything else calls `create_api_key`."""
    prefix = get_random_string(PREFIX_LENGTH, string.ascii_lowercase + string.digits)
    secret = get_random_string(SECRET_LENGTH, string.ascii_letters + string.digits)
    raw_key = f"kit_{prefix}_{secret}"
    api_key.prefix = prefix
    api_key.hashed_secret = hash_api_key(raw_key)
    api_key.full_clean()
    with transaction.atomic():
        api_key.save()
        _audit(AuthEvent.Kind.API_KEY_CREATED, api_key, actor=actor)
    # No cache write needed: unknown prefixes are never cached.
    return raw_key


def revoke_api_key(api_key: ApiKey, *, actor: str = "") -> bool:
    """Revoke a key for good. Returns False when it was already revoked.

    After commit the revoked state is written to the cache, so the next request on every
    instance refuses the key even if it was cached a moment ago."""
    now = timezone.now()
    with transaction.atomic():
        updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if updated:
            api_key.revoked_at = now
            _audit(AuthEvent.Kind.API_KEY_REVOKED, api_key, actor=actor)
        else:
            api_key.refresh_from_db(fields=["revoked_at"])
        # Written even when it was already revoked: repairs a write-through that failed.
        revocation.mark_revoked(API_KEYS, {api_key.prefix: _state_of(api_key)})
    return bool(updated)


def save_api_key(api_key: ApiKey) -> None:
    """Save an edited key (name, owner) and drop its cached state after commit."""
    api_key.full_clean()
    api_key.save()
    revocation.forget(API_KEYS, [api_key.prefix])


def authenticate_api_key(raw_key: str, *, request: HttpRequest | None = None) -> ApiKey:
    """The active ApiKey for a raw key, or InvalidApiKeyError (ApiKeyThrottledError once
    the client address has sent too many bad keys). The secret is compared in constant
    time; `last_used_at` is written at most once a minute."""
    match = _KEY_PATTERN.fullmatch(raw_key)
    if match is None:
        _count_failure(request)
        raise InvalidApiKeyError
    prefix = match[1]
    state = _load_state(prefix, request)
    if state is None:
        _refuse(prefix, "unknown_prefix", request)
    if not hmac.compare_digest(hash_api_key(raw_key), state["hashed_secret"]):
        _refuse(prefix, "wrong_secret", request)
    if state["revoked_at"] is not None:
        _refuse(prefix, "revoked", request)
    if state["expires_at"] is not None and state["expires_at"] <= timezone.now():
        _refuse(prefix, "expired", request)
    api_key = ApiKey(**state)
    api_key._state.adding = False
    _record_use(api_key.pk)
    return api_key


@receiver(pre_delete, sender=get_user_model(), dispatch_uid="revoke_api_keys_of_deleted_user")
def _revoke_keys_of_deleted_owner(sender: type[User], instance: User, **kwargs: Any) -> None:
    """Deleting a user revokes the keys they own (the rows stay, owner emptied)."""
    for api_key in ApiKey.objects.filter(owner=instance, revoked_at__isnull=True):
        revoke_api_key(api_key, actor=f"owner deleted: {instance.get_username()}")


# --- cache --------------------------------------------------------------------------------


def _state_from_db(prefix: str) -> dict[str, Any] | None:
    """The key's state (one query on a cache miss), or None for an unknown prefix."""
    return ApiKey.objects.filter(prefix=prefix).values(*_STATE_FIELDS).first()


def _state_of(api_key: ApiKey) -> dict[str, Any]:
    return {field: getattr(api_key, field) for field in _STATE_FIELDS}


def _recent_revocations(now: datetime) -> dict[str, dict[str, Any]]:
    """Every key revoked within CACHE_TIMEOUT (a cached "active" state lives that long):
    replayed into the cache by accounts.revocation.repair."""
    since = now - timedelta(seconds=CACHE_TIMEOUT)
    states = ApiKey.objects.filter(revoked_at__gte=since).order_by().values(*_STATE_FIELDS)
    return {state["prefix"]: state for state in states}


# Entries `apikey:<prefix>` hold the row's _STATE_FIELDS.
API_KEYS = revocation.register(
    revocation.Kind(
        prefix="apikey",
        load=_state_from_db,
        timeout=lambda state: CACHE_TIMEOUT,
        recent_revocations=_recent_revocations,
    )
)


def _load_state(prefix: str, request: HttpRequest | None) -> dict[str, Any] | None:
    def load() -> dict[str, Any] | None:
        # Only a key that is not in the cache costs a query: a client past its failure
        # limit gets no more of them.
        if request is not None:
            retry_after = ratelimit.rate_limit_reached(
                flow=FAILURE_FLOW, key=_address(request), rate=_failure_rate()
            )
            if retry_after is not None:
                raise ApiKeyThrottledError(retry_after)
        return _state_from_db(prefix)

    # Unknown prefixes come back None, which read_through never keeps.
    return revocation.read_through(API_KEYS, prefix, load=load)


# --- use and refusal ---------------------------------------------------------------------


def _record_use(api_key_id: int) -> None:
    """Write `last_used_at` at most once a minute: a per-process clock and a cache.add gate
    save the round trip and the query, and the conditional UPDATE keeps the promise when
    the cache is down or per process."""
    if not revocation.due_once_a_while(f"apikey:{api_key_id}", LAST_USED_INTERVAL):
        return
    due = _cache_gate(f"apikey:used:{api_key_id}", LAST_USED_INTERVAL)
    if due:
        now = timezone.now()
        ApiKey.objects.filter(pk=api_key_id).filter(
            Q(last_used_at__isnull=True)
            | Q(last_used_at__lte=now - timedelta(seconds=LAST_USED_INTERVAL))
        ).update(last_used_at=now)


def _cache_gate(key: str, interval: int) -> bool:
    """True once per `interval` across processes (`cache.add`); always True when the
    cache cannot say (an error, or its breaker open): the caller's write is idempotent."""
    if not revocation.cache_available():
        return True
    try:
        return cache.add(key, True, interval)
    except Exception:
        revocation.cache_unavailable()
        return True


def _address(request: HttpRequest | None) -> str:
    return client_ip(request) or ""


def _failure_rate() -> str:
    return kit_settings.API_KEY_FAILURE_RATE


def _count_failure(request: HttpRequest | None) -> None:
    """Count a failed key of this client address; ApiKeyThrottledError past the limit.
    Without a request (code, commands) there is no client to hold back."""
    if request is None:
        return
    retry_after = ratelimit.rate_limit_hit(
        flow=FAILURE_FLOW, key=_address(request), rate=_failure_rate()
    )
    if retry_after is not None:
        raise ApiKeyThrottledError(retry_after)


def _refuse(prefix: str, reason: str, request: HttpRequest | None) -> NoReturn:
    """Audit a refused key (the prefix only, never the secret), count the failure, and
    raise InvalidApiKeyError (or ApiKeyThrottledError past the client's limit).

    One row a minute per prefix and reason; for unknown prefixes, which a flood of made-up
    keys makes up by the thousand, one row a minute per client address."""
    if reason == "unknown_prefix":
        audit_key = f"apikey:refused:address:{_address(request)}"
    else:
        audit_key = f"apikey:refused:{prefix}:{reason}"
    if _cache_gate(audit_key, REFUSAL_AUDIT_INTERVAL):
        record_event(AuthEvent.Kind.API_KEY_REFUSED, request=request, prefix=prefix, reason=reason)
    _count_failure(request)
    raise InvalidApiKeyError


def _audit(kind: str, api_key: ApiKey, *, actor: str) -> None:
    record_event(
        kind,
        username=api_key.owner.get_username() if api_key.owner is not None else "",
        actor=actor,
        prefix=api_key.prefix,
        name=api_key.name,
        scopes=api_key.scopes,
    )
