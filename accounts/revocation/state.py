"""Is this device session still active? The one place that answers, for every request.

The database row is the source of truth. With a shared cache (Redis, Memcached) each
session has one cache entry `(active, user rights_version)`: a check is one cache get and
no query. A miss reads the row and fills the entry with `cache.add`, never overwriting, so a
concurrent revocation's `set` wins. Every revocation deletes the entry at once and `set`s
it to revoked after the database commit (still before the revoking call returns).

A per-process cache (LocMemCache, DummyCache) cannot see another worker's revocation, so
then every check reads the database (one query).

When the cache fails (Redis down), nothing fails open: checks read the database, and one
warning is logged when the cache becomes unreachable (not one per request). A revocation
made meanwhile is in the database but not in the cache, which may still hold an "active"
entry from before. So this process does not trust the cache again until it has *repaired*
it: `repair_cache` replays every revocation recent enough for a cached "active" entry to
be still alive (sessions revoked within one access-token lifetime, the TTL of an active
entry; API keys revoked within their cache TTL) from the database into the cache, then
makes sure the cache holds an epoch marker (`cache.add`, no expiry) and remembers its
value. A process repairs before it trusts a value read from the cache when (a) it saw a
cache error since its last repair, (b) the marker, read in the same round trip as the
entry (`get_many`), is missing or is not the one it remembers: Redis lost its data (a
restart without persistence, a flush) or this process never repaired (its first read), or
(c) its local view's subscription broke since (accounts.revocation.process_view.links_lost: a Redis
restart, with or without persistence, or a network break; the subscriber has no silent
retry). The read that notices this is answered from the database. Each tells a process
the cache may have missed a write; the repair itself is a few indexed queries, rare.

Left open (docs/performance.md): a process whose cache connection survived an outage it
never noticed (it served no request meanwhile), or, with the local view off, a Redis that
restarted from a snapshot older than a revocation whose write failed, is trusted until the
process that saw the failure repairs; such an entry expires within one access-token
lifetime.
"""

import contextlib
import functools
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import AuthEvent, DeviceSession
from accounts.revocation import process_view

logger = logging.getLogger(__name__)

_PER_PROCESS_BACKENDS = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
# Returned by trusted_get when the caller must read the database instead.
UNTRUSTED = object()
# The epoch marker's key: written at repair, never expires (see the module docstring).
EPOCH_KEY = "session_state:epoch"

# Process state of the cache (see the module docstring).
_cache_down = False  # an error seen, not yet repaired: the one warning was logged
_epoch = None  # the marker's value at this process's last repair
_repaired_links = 0  # process_view.links_lost() at the last repair


@dataclass(frozen=True)
class SessionState:
    active: bool
    rights_version: int
    user_id: object = None  # whose session: a token naming another `sub` is refused


REVOKED = SessionState(active=False, rights_version=0)


@functools.cache
def cache_is_shared():
    """True when every worker and instance sees the same cache (read once: asked on every
    request)."""
    return settings.CACHES["default"]["BACKEND"] not in _PER_PROCESS_BACKENDS


@receiver(setting_changed)
def _settings_changed(*, setting, **kwargs):
    if setting == "CACHES":
        cache_is_shared.cache_clear()


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


_due_at = {}
_DUE_AT_LIMIT = 50_000


def due_once_a_while(name, interval):
    """True at most once per `interval` seconds per `name` in this process (no round trip):
    the first gate of the throttled last-used writes, before their shared cache gate."""
    now = time.monotonic()
    if _due_at.get(name, 0.0) > now:
        return False
    if len(_due_at) >= _DUE_AT_LIMIT:
        for stale in [key for key, due in _due_at.items() if due <= now]:
            del _due_at[stale]
        if len(_due_at) >= _DUE_AT_LIMIT:
            _due_at.clear()
    _due_at[name] = now + interval
    return True


def note_cache_error(action):
    """A cache call failed: read the database until the cache is repaired. Logs one
    warning when the cache becomes unreachable, not one per request."""
    global _cache_down
    if not _cache_down:
        _cache_down = True
        logger.warning(
            "cache %s failed: authentication reads the database until the cache is back "
            "(revocations made meanwhile are then replayed into it)",
            action,
        )


def _repair_due():
    return _cache_down or _repaired_links != process_view.links_lost()


def repair_cache():
    """Write every revocation a cached "active" entry could still contradict into the
    cache. True when done; False (cache still failing) otherwise."""
    global _cache_down, _epoch, _repaired_links
    from accounts.apikeys import keys as api_keys

    links = process_view.links_lost()
    now = timezone.now()
    since = now - timedelta(seconds=_active_timeout())
    revoked_ids = set(
        DeviceSession.objects.filter(revoked_at__gte=since).values_list("pk", flat=True)
    )
    # Sessions of deleted users have no row left; their revocation is in the audit trail.
    revoked_ids.update(
        AuthEvent.objects.filter(
            kind=AuthEvent.Kind.SESSION_REVOKED, created_at__gte=since, session_id__isnull=False
        ).values_list("session_id", flat=True)
    )
    try:
        if revoked_ids:
            cache.set_many(
                {_key(sid): _to_value(REVOKED) for sid in revoked_ids}, _revoked_timeout()
            )
        keys = api_keys.write_recent_revocations(now)
        if revoked_ids or keys:
            # A process that stayed connected may hold them in its view as active.
            process_view.invalidate()
        # The marker stays until Redis loses its data; whichever process adds it first
        # sets its value, and every process trusts that one.
        cache.add(EPOCH_KEY, uuid.uuid4().hex, None)
        epoch = cache.get(EPOCH_KEY)
    except Exception:
        note_cache_error("repair")
        return False
    if _cache_down:
        logger.warning(
            "cache reachable again: %s session and %s API-key revocations replayed",
            len(revoked_ids),
            keys,
        )
    _cache_down = False
    _epoch, _repaired_links = epoch, links
    return True


def cache_cleared():
    """The cache was emptied (tests, `cache.clear()`): no stale entry can be left."""
    global _cache_down, _epoch, _repaired_links
    _cache_down = False
    _epoch, _repaired_links = uuid.uuid4().hex, process_view.links_lost()
    with contextlib.suppress(Exception):  # unreachable: the next read repairs
        cache.set(EPOCH_KEY, _epoch, None)
    _due_at.clear()
    process_view.clear()


def trusted_get(key):
    """The cached value of `key` (None on a miss), or UNTRUSTED when the caller must read
    the database: the cache failed, or it may hold entries older than a revocation that
    could not be written through (then it is repaired first). One round trip: the entry
    and the epoch marker together."""
    try:
        values = cache.get_many([key, EPOCH_KEY])
    except Exception:
        note_cache_error("read")
        return UNTRUSTED
    if _repair_due() or values.get(EPOCH_KEY) != _epoch:
        repair_cache()
        return UNTRUSTED
    return values.get(key)


def view_get(key):
    """The value of `key` in this process's view (accounts.revocation.process_view), or
    process_view.MISS: also while the cache awaits its repair, as a Redis read would."""
    if _repair_due():
        return process_view.MISS
    return process_view.get(key)


def read_session_state_from_db(session_id):
    """The state from the row (one query), or None when the session does not exist."""
    row = (
        DeviceSession.objects.filter(pk=session_id)
        .values_list(
            "user_id", "user__rights_version", "user__is_active", "revoked_at", "refresh_expires_at"
        )
        .first()
    )
    if row is None:
        return None
    user_id, rights_version, user_is_active, revoked_at, expires_at = row
    active = user_is_active and revoked_at is None and expires_at > timezone.now()
    return SessionState(active=active, rights_version=rights_version, user_id=user_id)


def _to_value(state):
    return (state.active, state.rights_version, state.user_id)


def read_through(key, load, timeout):
    """The value of `key`: from this process's view, else the cache, else `load()` (the
    database), which then fills both (`cache.add`: a concurrent revocation's `set` wins).

    The one read path of every cached state of the kit (sessions, user profiles, API
    keys); `load` returns a picklable value, or None for "no such thing", which is never
    kept (made-up keys cannot fill the view or the cache); `timeout(value)` is its cache
    lifetime. With a per-process cache (local memory) it is `load()` every time: such a
    cache cannot hear another process's revocation.
    """
    if not cache_is_shared():
        return load()
    value = view_get(key)
    if value is not process_view.MISS:
        return value
    seen = process_view.messages_seen()  # before the read that may fill the view
    value = trusted_get(key)
    if value is UNTRUSTED:
        return load()
    if value is not None:
        process_view.store(key, value, seen)
        return value
    value = load()
    if value is None:
        return None
    process_view.store(key, value, seen)
    try:
        cache.add(key, value, timeout(value))
    except Exception:
        note_cache_error("write")
    return value


def _load_value(session_id):
    return _to_value(read_session_state_from_db(session_id) or REVOKED)


def get_session_state(session_id, *, refresh=False):
    """The session's state (REVOKED when it does not exist: deleted, flushed).

    `refresh=True` skips the cached entry and rewrites it from the database (used when a
    token's rights version does not match the cached one).
    """
    if not isinstance(session_id, uuid.UUID):
        session_id = uuid.UUID(str(session_id))
    key = _key(session_id)
    if not refresh or not cache_is_shared():
        return SessionState(*read_through(key, lambda: _load_value(session_id), _value_timeout))
    seen = process_view.messages_seen()
    value = _load_value(session_id)
    process_view.store(key, value, seen)
    try:
        cache.set(key, value, _value_timeout(value))
    except Exception:
        note_cache_error("write")
    return SessionState(*value)


def _value_timeout(value):
    return _timeout(SessionState(*value))


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
            note_cache_error("write")

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
        note_cache_error("delete")
    process_view.drop_here(keys)

    def _set_revoked():
        try:
            cache.set_many(dict.fromkeys(keys, _to_value(REVOKED)), timeout=_revoked_timeout())
        except Exception:
            # Replayed by repair_cache before this process trusts the cache again.
            note_cache_error("write of a revocation")
        process_view.invalidate(keys)

    transaction.on_commit(_set_revoked)


def forget_keys(keys):
    """Drop cached entries now and again after commit, in Redis and in every process's
    view, so the next read of each comes from the database."""
    if not keys or not cache_is_shared():
        return

    def _delete():
        try:
            cache.delete_many(keys)
        except Exception:
            note_cache_error("delete")

    def _delete_everywhere():
        _delete()
        process_view.invalidate(keys)

    process_view.drop_here(keys)
    _delete()
    transaction.on_commit(_delete_everywhere)


def forget_user_sessions(user):
    """Drop the entries of a user's live sessions after a rights change, so the next
    check reads the new rights version from the database."""
    if not cache_is_shared():
        return
    live = DeviceSession.objects.filter(user=user, revoked_at__isnull=True)
    forget_keys([_key(sid) for sid in live.values_list("pk", flat=True)])
