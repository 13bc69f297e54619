"""Is this device session still active? The one place that answers, for every request.

The database row is the source of truth. With a shared cache (Redis, Memcached) each
session has one cache entry `(active, user rights_version)`: a check is one cache get and
no query. A miss reads the row and fills the entry with `cache.add`, never overwriting, so a
concurrent revocation's `set` wins. Every revocation deletes the entry at once and `set`s
it to revoked after the database commit (still before the revoking call returns).

A per-process cache (LocMemCache, DummyCache) cannot see another worker's revocation, so
then every check reads the database (one query). A cache error never fails open: the check
falls back to the database and logs a warning.
"""

import logging
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import DeviceSession

logger = logging.getLogger(__name__)

_PER_PROCESS_BACKENDS = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
_WARNING_INTERVAL = 60.0
_last_warning = 0.0


@dataclass(frozen=True)
class SessionState:
    active: bool
    rights_version: int
    user_id: object = None  # whose session: a token naming another `sub` is refused


REVOKED = SessionState(active=False, rights_version=0)


def cache_is_shared():
    """True when every worker and instance sees the same cache."""
    return settings.CACHES["default"]["BACKEND"] not in _PER_PROCESS_BACKENDS


def _key(session_id):
    return f"devsess:{session_id}"


def _active_timeout():
    # Bounded by one access lifetime: should a write-through ever fail, a stale "active"
    # entry cannot outlive the access tokens it would let through.
    return max(1, settings.JWT_ACCESS_TOKEN_LIFETIME)


def _revoked_timeout():
    # Long enough that every access token of the session has expired; after that a miss
    # simply reads the (revoked) row again.
    return settings.JWT_ACCESS_TOKEN_LIFETIME + 60


def _warn_cache_error(action):
    """One warning a minute per process, not one per request, while the cache is down."""
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARNING_INTERVAL:
        _last_warning = now
        logger.warning("session state: cache %s failed; reading the database", action)


def read_session_state_from_db(session_id):
    """The state from the row (one query), or None when the session does not exist."""
    row = (
        DeviceSession.objects.filter(pk=session_id)
        .values(
            "revoked_at", "refresh_expires_at", "user_id", "user__is_active", "user__rights_version"
        )
        .first()
    )
    if row is None:
        return None
    active = (
        row["revoked_at"] is None
        and row["refresh_expires_at"] > timezone.now()
        and row["user__is_active"]
    )
    return SessionState(
        active=active, rights_version=row["user__rights_version"], user_id=row["user_id"]
    )


def _to_value(state):
    return (state.active, state.rights_version, state.user_id)


def get_session_state(session_id, *, refresh=False):
    """The session's state, or None when it does not exist (deleted, flushed).

    `refresh=True` skips the cache entry and rewrites it from the database (used when a
    token's rights version does not match the cached one).
    """
    session_id = uuid.UUID(str(session_id))
    if not cache_is_shared():
        return read_session_state_from_db(session_id)
    if not refresh:
        try:
            value = cache.get(_key(session_id))
        except Exception:
            _warn_cache_error("read")
            return read_session_state_from_db(session_id)
        if value is not None:
            return SessionState(*value)
    state = read_session_state_from_db(session_id)
    stored = state or REVOKED
    try:
        if refresh:
            cache.set(_key(session_id), _to_value(stored), _timeout(stored))
        else:
            cache.add(_key(session_id), _to_value(stored), _timeout(stored))
    except Exception:
        _warn_cache_error("write")
    return state


def _timeout(state):
    return _active_timeout() if state.active else _revoked_timeout()


def remember_new_session(session, user):
    """Fill the entry of a session just signed in (`add`: a revocation's `set` wins)."""
    if not cache_is_shared():
        return
    state = SessionState(active=True, rights_version=user.rights_version, user_id=user.pk)

    def _add():
        try:
            cache.add(_key(session.pk), _to_value(state), _active_timeout())
        except Exception:
            _warn_cache_error("write")

    transaction.on_commit(_add)


def mark_revoked(session_ids):
    """Write a revocation through: delete the entries now, set them revoked on commit.

    Deleting first means no reader can keep a stale "active" entry even while the
    revoking transaction is still open; the `set` after commit wins over a reader's `add`
    of the value it read before the commit.
    """
    session_ids = [uuid.UUID(str(sid)) for sid in session_ids]
    if not session_ids or not cache_is_shared():
        return
    keys = [_key(sid) for sid in session_ids]
    try:
        cache.delete_many(keys)
    except Exception:
        _warn_cache_error("delete")

    def _set_revoked():
        try:
            cache.set_many(dict.fromkeys(keys, _to_value(REVOKED)), timeout=_revoked_timeout())
        except Exception:
            logger.error("session state: could not write revocation of %s", session_ids)

    transaction.on_commit(_set_revoked)


def forget_user_sessions(user):
    """Drop the entries of a user's live sessions after a rights change (now and again on
    commit), so the next check reads the new rights version from the database."""
    if not cache_is_shared():
        return
    keys = [
        _key(sid)
        for sid in DeviceSession.objects.filter(user=user, revoked_at__isnull=True).values_list(
            "pk", flat=True
        )
    ]

    def _delete():
        try:
            cache.delete_many(keys)
        except Exception:
            _warn_cache_error("delete")

    _delete()
    transaction.on_commit(_delete)
