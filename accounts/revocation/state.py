"""The revocation state engine: cached state of registered kinds, read through a
per-process view, the shared cache and the database (public names: accounts/revocation/).

A kind (device sessions in accounts.devices.session_state, API keys in
accounts.apikeys.keys, profiles in accounts.users.profiles) registers a `Kind`: its key
prefix, how to read one entry's state from the database, the entry's cache lifetime, and
which recent revocations a repair replays. This module imports none of them.

The database row is the source of truth. With a shared cache (Redis, Memcached) each
entry (e.g. a session's `(active, rights_version, user_id)`) is one cache key: a check is
one cache get and no query. A miss reads the row and fills the entry with `cache.add`,
never overwriting, so a concurrent revocation's `set` wins. Every revocation deletes the
entry at once and `set`s it to revoked after the database commit (still before the
revoking call returns).

A per-process cache (LocMemCache, DummyCache) cannot see another worker's revocation, so
then every check reads the database (one query).

When the cache fails (Redis down), nothing fails open: checks read the database, and one
warning is logged when the cache becomes unreachable (not one per request). A revocation
made meanwhile is in the database but not in the cache, which may still hold an "active"
entry from before. So this process does not trust the cache again until it has *repaired*
it: `repair` replays every revocation recent enough for a cached "active" entry to be
still alive (each kind's `recent_revocations`: sessions revoked within one access-token
lifetime, the TTL of an active entry; API keys revoked within their cache TTL) from the
database into the cache, then makes sure the cache holds an epoch marker (`cache.add`, no
expiry) and remembers its value. A process repairs before it trusts a value read from the
cache when (a) it saw a cache error since its last repair, (b) the marker, read in the
same round trip as the entry (`get_many`), is missing or is not the one it remembers:
Redis lost its data (a restart without persistence, a flush) or this process never
repaired (its first read), or (c) its local view's subscription broke since
(process_view.links_lost: a Redis restart, with or without persistence, or a network
break; the subscriber has no silent retry). The read that notices this is answered from
the database. Each tells a process the cache may have missed a write; the repair itself
is a few indexed queries, rare.

A hung cache (accepting connections, never answering) would make every call wait out its
socket timeout. So each process has a circuit breaker: after a cache error or timeout it
skips the cache for ACCOUNTS["CACHE_BREAKER_SECONDS"] (`cache_available()` is False),
reading the database, and a write it skips counts as a failed one (the cache is repaired
before it is trusted again); then the next call tries the cache once more. The lockout and
rate-limit checks (accounts.security) consult the same breaker.

The repair runs off the request path, in one background thread per process, while that
process's requests keep reading the database. Repairs are shared through Redis: a process
that needs one takes a ticket (`incr` of REPAIR_ASKED_KEY) and waits until a completed
repair covers it (REPAIR_DONE_KEY >= its ticket). Whoever holds the lock (`cache.add` of
REPAIR_LOCK_KEY with a TTL) reads the ticket counter, then the database, replays in
chunks of REPAIR_CHUNK keys and records that counter as done: every ticket taken before
its database read is covered by it, so processes that need a repair at the same time (all
the workers after an outage) share one replay.

Left open (docs/performance.md): a process whose cache connection survived an outage it
never noticed (it served no request meanwhile), or, with the local view off, a Redis that
restarted from a snapshot older than a revocation whose write failed, is trusted until the
process that saw the failure repairs; such an entry expires within one access-token
lifetime.
"""

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache as _once
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import connection, transaction
from django.dispatch import receiver
from django.utils import timezone

from accounts.conf import kit_settings
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

# The shared repair (see the module docstring): its lock, ticket counter and done mark.
REPAIR_LOCK_KEY = "session_state:repair:lock"
REPAIR_ASKED_KEY = "session_state:repair:asked"
REPAIR_DONE_KEY = "session_state:repair:done"
REPAIR_LOCK_TTL = 60  # seconds: a repairer that died frees the lock after this
REPAIR_CHUNK = 1000  # keys per set_many
_REPAIR_POLL = 0.1  # seconds between looks at another process's running repair
# Background repair (production); tests run it inline, in the request, because the
# thread's own database connection cannot see a test's uncommitted rows.
repair_in_background = True

# Process state of the cache (see the module docstring).
_cache_down = False  # an error seen, not yet repaired: the one warning was logged
_errors = 0  # cache errors and skipped writes: a repair begun before the last one is stale
_epoch = None  # the marker's value at this process's last repair
_repaired_links = 0  # process_view.links_lost() at the last repair
_breaker_open_until = 0.0  # time.monotonic() until which the cache is skipped
_repair_thread: threading.Thread | None = None
_repair_start = threading.Lock()


@dataclass(frozen=True)
class Kind:
    """One kind of cached state, registered by the package that owns its rows.

    `load(ident)` reads one entry's state from the database: a picklable value, or None for
    "no such thing" (never kept, so made-up idents cannot fill the cache). `timeout(value)`
    is the value's cache lifetime. `recent_revocations(now)`, when given, returns
    `{ident: revoked value}` for every revocation a cached "active" entry could still
    contradict: `repair` writes them into the cache.
    """

    prefix: str
    load: Callable[[Any], Any]
    timeout: Callable[[Any], int]
    recent_revocations: Callable[[datetime], Mapping[Any, Any]] | None = None

    def key(self, ident: Any) -> str:
        return f"{self.prefix}:{ident}"


_kinds: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add a kind (at import of its package); returns it, to keep as a module constant."""
    _kinds[kind.prefix] = kind
    return kind


def registered() -> tuple[Kind, ...]:
    return tuple(_kinds.values())


@_once
def cache_is_shared() -> bool:
    """True when every worker and instance sees the same cache (read once: asked on every
    request)."""
    return settings.CACHES["default"]["BACKEND"] not in _PER_PROCESS_BACKENDS


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES":
        cache_is_shared.cache_clear()


_due_at: dict[str, float] = {}
_DUE_AT_LIMIT = 50_000


def due_once_a_while(name: str, interval: float) -> bool:
    """True at most once per `interval` seconds per `name` in this process (no round trip):
    the first gate of the throttled last-used writes, before their shared cache gate."""
    now = time.monotonic()
    if _due_at.get(name, 0.0) > now:
        return False
    if len(_due_at) >= _DUE_AT_LIMIT:
        # A copy: another thread (gthread workers) may add a name meanwhile.
        for stale in [key for key, due in list(_due_at.items()) if due <= now]:
            _due_at.pop(stale, None)
        if len(_due_at) >= _DUE_AT_LIMIT:
            _due_at.clear()
    _due_at[name] = now + interval
    return True


def cache_available() -> bool:
    """False while this process's circuit breaker is open (a cache error or timeout less
    than ACCOUNTS["CACHE_BREAKER_SECONDS"] ago): skip the cache and use the database, or
    for a counter, count nothing. Public: accounts.security and process_view ask it."""
    return time.monotonic() >= _breaker_open_until


def cache_unavailable() -> None:
    """A cache call failed or timed out: open this process's circuit breaker (any module's
    cache call, so one hung Redis costs one timeout per interval, not one per call)."""
    global _breaker_open_until
    _breaker_open_until = time.monotonic() + kit_settings.CACHE_BREAKER_SECONDS


def _write_missed() -> None:
    """A revocation-state write failed or was skipped: the cache may now hold an entry the
    database contradicts, so it is repaired before it is trusted again."""
    global _cache_down, _errors
    _errors += 1
    _cache_down = True


def note_cache_error(action: str) -> None:
    """A cache call failed: open the breaker and read the database until the cache is
    repaired. Logs one warning when the cache becomes unreachable, not one per request."""
    cache_unavailable()
    if not _cache_down:
        logger.warning(
            "cache %s failed: authentication reads the database until the cache is back "
            "(revocations made meanwhile are then replayed into it)",
            action,
        )
    _write_missed()


def _repair_due() -> bool:
    return _cache_down or _repaired_links != process_view.links_lost()


def repair() -> bool:
    """Make the cache trustworthy again for this process: wait for (or run) a repair that
    covers this process's failures, replaying every revocation a cached "active" entry
    could still contradict (each kind's `recent_revocations`) into the cache. True when
    done; False (cache still failing, or another repairer did not finish in time)."""
    global _cache_down, _epoch, _repaired_links
    links, errors = process_view.links_lost(), _errors
    try:
        cache.add(REPAIR_ASKED_KEY, 0, None)
        ticket = cache.incr(REPAIR_ASKED_KEY)
        deadline = time.monotonic() + REPAIR_LOCK_TTL
        replayed = None
        while (cache.get(REPAIR_DONE_KEY) or 0) < ticket:
            if time.monotonic() > deadline:
                return False
            if cache.add(REPAIR_LOCK_KEY, ticket, REPAIR_LOCK_TTL):
                try:
                    replayed = _replay()
                finally:
                    cache.delete(REPAIR_LOCK_KEY)
            else:
                time.sleep(_REPAIR_POLL)  # another process replays; this one waits
        # The marker stays until Redis loses its data; whichever process adds it first
        # sets its value, and every process trusts that one.
        cache.add(EPOCH_KEY, uuid.uuid4().hex, None)
        epoch = cache.get(EPOCH_KEY)
    except Exception:
        note_cache_error("repair")
        return False
    if replayed is None:
        # Another process replayed: entries this process's view kept from before are
        # dropped here (the replayer dropped them from the views it could reach).
        process_view.clear()
    elif _cache_down:
        logger.warning(
            "cache reachable again: revocations replayed (%s)",
            ", ".join(f"{prefix}: {count}" for prefix, count in replayed.items()),
        )
    if errors == _errors:  # no failure since this repair began
        _cache_down = False
        _epoch, _repaired_links = epoch, links
    return True


def _replay() -> dict[str, int]:
    """Under the repair lock: mark every ticket taken so far as covered by a replay of the
    database as it is now, in chunks of REPAIR_CHUNK keys. Returns the number of
    revocations replayed per kind."""
    covered = cache.get(REPAIR_ASKED_KEY) or 0
    now = timezone.now()
    replayed: list[str] = []
    stale: list[str] = []
    counts: dict[str, int] = {}
    for kind in registered():
        if kind.recent_revocations is None:
            continue
        revoked = kind.recent_revocations(now)
        entries = [(kind.key(ident), value) for ident, value in revoked.items()]
        counts[kind.prefix] = len(entries)
        for start in range(0, len(entries), REPAIR_CHUNK):
            chunk = dict(entries[start : start + REPAIR_CHUNK])
            replayed += chunk
            held = cache.get_many(list(chunk))
            by_timeout: dict[int, dict[str, Any]] = {}
            for key, value in chunk.items():
                if held.get(key) != value:
                    stale.append(key)
                    by_timeout.setdefault(kind.timeout(value), {})[key] = value
            for timeout, batch in by_timeout.items():
                cache.set_many(batch, timeout)
    # Only an entry Redis did not hold as revoked can sit in another process's view as
    # active: those are dropped from every view (as a rule none on a new process's first
    # read, so starting a worker publishes nothing); this process drops them all.
    process_view.drop_here(replayed)
    if stale:
        process_view.invalidate(stale)
    cache.set(REPAIR_DONE_KEY, max(covered, cache.get(REPAIR_DONE_KEY) or 0), None)
    return counts


def _repair_soon() -> None:
    """Start this process's repair thread unless it runs already; the caller reads the
    database meanwhile and never waits for it."""
    global _repair_thread
    if not repair_in_background:
        repair()
        return
    with _repair_start:
        if _repair_thread is not None and _repair_thread.is_alive():
            return
        _repair_thread = threading.Thread(
            target=_repair_in_thread, name="kit-cache-repair", daemon=True
        )
        _repair_thread.start()


def _repair_in_thread() -> None:
    try:
        repair()
    finally:
        connection.close()  # this thread's database connection (back to the pool)


def cache_cleared() -> None:
    """The cache was emptied (tests, `cache.clear()`): no stale entry can be left."""
    global _cache_down, _epoch, _repaired_links, _breaker_open_until
    _cache_down, _breaker_open_until = False, 0.0
    _epoch, _repaired_links = uuid.uuid4().hex, process_view.links_lost()
    with contextlib.suppress(Exception):  # unreachable: the next read repairs
        cache.set(EPOCH_KEY, _epoch, None)
    _due_at.clear()
    process_view.clear()


def trusted_get(key: str) -> Any:
    """The cached value of `key` (None on a miss), or UNTRUSTED when the caller must read
    the database: the cache failed, or it may hold entries older than a revocation that
    could not be written through (then a repair starts in the background), or the breaker
    is open. One round trip: the entry and the epoch marker together."""
    if not cache_available():
        return UNTRUSTED
    try:
        values = cache.get_many([key, EPOCH_KEY])
    except Exception:
        note_cache_error("read")
        return UNTRUSTED
    if _repair_due() or values.get(EPOCH_KEY) != _epoch:
        _repair_soon()
        return UNTRUSTED
    return values.get(key)


def view_get(key: str) -> Any:
    """The value of `key` in this process's view (accounts.revocation.process_view), or
    process_view.MISS: also while the cache awaits its repair, as a Redis read would."""
    if _repair_due():
        return process_view.MISS
    return process_view.get(key)


def read_through(
    kind: Kind, ident: Any, *, load: Callable[[], Any] | None = None, refresh: bool = False
) -> Any:
    """The state of `ident`: from this process's view, else the cache, else the database
    (`kind.load(ident)`, or `load()` when given), which then fills both (`cache.add`: a
    concurrent revocation's `set` wins). None for "no such thing", which is never kept.

    `refresh=True` skips the cached entry and rewrites it from the database (a session
    whose token carries a newer rights version than the cached one). With a per-process
    cache (local memory) it is the database every time: such a cache cannot hear another
    process's revocation.
    """
    load = load or (lambda: kind.load(ident))
    if not cache_is_shared():
        return load()
    key = kind.key(ident)
    if refresh:
        seen = process_view.messages_seen()
        value = load()
        if value is not None:
            process_view.store(key, value, seen)
            _write(cache.set, key, value, kind.timeout(value))
        return value
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
    _write(cache.add, key, value, kind.timeout(value))
    return value


def _write(method: Callable[[str, Any, int], object], key: str, value: Any, timeout: int) -> None:
    if not cache_available():
        _write_missed()
        return
    try:
        method(key, value, timeout)
    except Exception:
        note_cache_error("write")


def remember(kind: Kind, ident: Any, value: Any) -> None:
    """Fill the entry of a row just written (a session signed in) after commit (`add`: a
    revocation's `set` wins)."""
    if cache_is_shared():
        key, timeout = kind.key(ident), kind.timeout(value)
        transaction.on_commit(lambda: _write(cache.add, key, value, timeout))


def mark_revoked(kind: Kind, revoked: Mapping[Any, Any]) -> None:
    """Write revocations through (`{ident: revoked value}`): delete the entries now, set
    them to the revoked value after commit, and drop them from every process's view.

    Deleting first means no reader can keep a stale "active" entry even while the
    revoking transaction is still open; the `set` after commit wins over a reader's `add`
    of the value it read before the commit.
    """
    if not revoked or not cache_is_shared():
        return
    entries = {kind.key(ident): value for ident, value in revoked.items()}
    keys = list(entries)
    _delete_many(keys)
    process_view.drop_here(keys)

    def _set_revoked() -> None:
        by_timeout: dict[int, dict[str, Any]] = {}
        for key, value in entries.items():
            by_timeout.setdefault(kind.timeout(value), {})[key] = value
        if not cache_available():
            _write_missed()  # replayed by repair before this process trusts the cache
        else:
            try:
                for timeout, batch in by_timeout.items():
                    cache.set_many(batch, timeout=timeout)
            except Exception:
                # Replayed by repair before this process trusts the cache again.
                note_cache_error("write of a revocation")
        process_view.invalidate(keys)

    transaction.on_commit(_set_revoked)


def forget(kind: Kind, idents: Iterable[Any]) -> None:
    """Drop cached entries now and again after commit, in Redis and in every process's
    view, so the next read of each comes from the database. `idents` is only iterated
    with a shared cache (a lazy QuerySet costs nothing otherwise)."""
    if not cache_is_shared():
        return
    keys = [kind.key(ident) for ident in idents]
    if not keys:
        return

    def _delete_everywhere() -> None:
        _delete_many(keys)
        process_view.invalidate(keys)

    process_view.drop_here(keys)
    _delete_many(keys)
    transaction.on_commit(_delete_everywhere)


def _delete_many(keys: list[str]) -> None:
    if not cache_available():
        _write_missed()
        return
    try:
        cache.delete_many(keys)
    except Exception:
        note_cache_error("delete")
