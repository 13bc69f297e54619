"""A per-process view of session and API-key state: a warm check makes no Redis round trip.

Contract kept: a request that starts after a revoking call has returned is refused on every
worker and every instance.

How (shared Redis cache only, setting ACCOUNTS["LOCAL_VIEW"]):
- Each process keeps `cache key -> (value, expiry)` in memory, filled from the Redis or
  database reads the check makes anyway; an entry lives ACCOUNTS["LOCAL_VIEW_TTL"] seconds.
- Members. At most ACCOUNTS["LOCAL_VIEW_MAX_PROCESSES"] processes hold a place in the
  Redis sorted set `<prefix>:localview:members`, scored by Redis time + LEASE. Only a
  member trusts its view; any other process answers every check with the one-GET path
  (and keeps nothing), and asks for a place every 2 x LEASE (one script, no other
  traffic: it is not subscribed to the revocation channel).
- Each process runs one daemon subscriber thread (started on first use, restarted after a
  fork). To become a member it subscribes to `<prefix>:localview:db<n>`, waits for Redis'
  confirmation, empties its view, and only then takes a place. Every LEASE/4 a member's
  heartbeat script renews its score and publishes a token on the process's private
  channel, on the same connection; when the token comes back, every message published
  before it has been applied (one connection delivers in order), and the process trusts
  its view until (send time + LEASE) by its own monotonic clock: never later than its
  score (taken after the send).
- A revocation drops the keys from its own process's view at once (also before commit,
  like the Redis delete), and after its Redis write-through runs one script that records
  the live members (but itself) in a pending set of the message and PUBLISHes it. Each
  member drops the keys, THEN acknowledges with one script (SREM from the pending set; the
  member that empties it RPUSHes the one wake-up). The revoker BLPOPs that wake-up, until
  the first pending lease would lapse; then one script drops the pending members whose
  lease has lapsed by Redis time (or who left) and it waits for the rest. So a revocation
  costs the revoker two round trips whatever the fleet, and waits for at most
  LOCAL_VIEW_MAX_PROCESSES acknowledgements arriving in parallel. If Redis cannot be
  reached to publish, the revoking call waits LEASE + LEASE_MARGIN, after which no
  process can trust a view the message missed.
- A fill reads the message counter before its Redis/database read and stores only if no
  message arrived meanwhile, so a value read before a revocation never lands after it.

Why a request that starts after the revoking call returned cannot be served stale: it
runs in a process P that trusts its view at that moment, so P is a member whose token
(sent at s by P's clock) came back, and now < s + LEASE. Either P's token was published
after the revocation's message: then P received and applied the message first (one
connection, in order; P subscribed before it took its place and emptied its view on
confirmation, and a fill that raced with the message is not stored). Or it was published
before: P was then a live member when the revocation published (its score, Redis time at
the heartbeat + LEASE, was not yet reached, since the revocation returned later and P
still trusts a lease ending before that score), so P was in the pending set; the revoker
returned either on P's acknowledgement, sent after P dropped the keys, or after P's score
had passed by Redis time, hence after s + LEASE, when P no longer trusts its view. A
member frozen (SIGSTOP, a GC pause) stops being waited for once its score passes: one
lease, once; when it wakes its own lease has ended too, so it reads Redis until its next
heartbeat comes back, behind every message it missed (it caught up), or it lost its place.

Residual risk (exact): the lease compares a process's monotonic clock with Redis's clock
over at most LEASE seconds, so a clock running slower than Redis's over that span by more
than a heartbeat's round trip, or a process frozen between its lease check and its map
read for longer than the rest of its lease, could let one request that started after a
revocation returned see the old state. A revocation whose own Redis write-through failed
is as today (accounts.revocation.state, "Left open"): other processes may refill their view
from the stale Redis entry until the repair, which drops the stale keys from every view.
A FLUSHDB (or an eviction) of the member set makes revokers wait for nobody until each
member's next heartbeat (LEASE/4) puts it back. A revocation made while Redis is
unreachable blocks its caller LEASE + margin. The view is not used while the cache awaits
its repair (accounts.revocation.state.view_get).
"""

import atexit
import contextlib
import functools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Collection, Iterable
from typing import Any

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.commands.core import Script
from redis.connection import parse_url
from redis.retry import Retry

from accounts.conf import kit_settings

logger = logging.getLogger(__name__)

LEASE = 1.0  # seconds a heartbeat round trip is trusted
LEASE_MARGIN = 0.5  # extra wait of a revoker before it reports a live member that never acked
_VIEWER_BEAT = LEASE / 4  # heartbeat of a member
_SEEKER_BEAT = 2 * LEASE  # a process without a place asks again this often
_KEY_TTL_MS = 30_000  # the pending set and done list of one revocation
_ENTRY_LIMIT = 100_000

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
# A process's heartbeat. KEYS: members. ARGV: lease ms, member, private channel, token,
# cap, joined (1: subscribed to the revocation channel). Drops lapsed members; returns 0
# (no place: not a member), 2 (a place is free: subscribe first) or 1 (member until now +
# lease; the token is published on the private channel, behind every earlier message).
_HEARTBEAT_SCRIPT = (
    _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[2])
    and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[5]) then
  return 0
end
if ARGV[6] ~= '1' then
  return 2
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], 60000)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
"""
)
# A revocation. KEYS: members, pending set. ARGV: channel, message, the revoker's own
# member (it has applied the message already), key ttl ms. Records every live member but
# the revoker as pending, publishes; returns {pending count, ms until the first lapses}.
_PUBLISH_SCRIPT = (
    _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local pending, first = 0, nil
for i = 1, #live, 2 do
  if live[i] ~= ARGV[3] then
    redis.call('SADD', KEYS[2], live[i])
    pending = pending + 1
    local score = tonumber(live[i + 1])
    if not first or score < first then first = score end
  end
end
if pending > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
redis.call('PUBLISH', ARGV[1], ARGV[2])
if pending == 0 then return {0, 0} end
return {pending, first - now}
"""
)
# A member applied a revocation. KEYS: pending set, done list. ARGV: member, key ttl ms.
# The last pending member wakes the revoker (one RPUSH per revocation, whatever the fleet).
_ACK_SCRIPT = """
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 and redis.call('SCARD', KEYS[1]) == 0 then
  redis.call('RPUSH', KEYS[2], 1)
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
"""
# The revoker, when no wake-up came in time. KEYS: members, pending set. Drops pending
# members whose lease has lapsed (by Redis time) or who left; returns {still pending, ms
# until the first of them lapses}.
_CHECK_SCRIPT = (
    _NOW_MS
    + """
local pending, first = 0, nil
for _, member in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local score = redis.call('ZSCORE', KEYS[1], member)
  if not score or tonumber(score) <= now then
    redis.call('SREM', KEYS[2], member)
  else
    pending = pending + 1
    if not first or tonumber(score) < first then first = tonumber(score) end
  end
end
if pending == 0 then return {0, 0} end
return {pending, first - now}
"""
)

MISS = object()


class _Process:
    """The view of this process (replaced after a fork)."""

    def __init__(self) -> None:
        self.member = uuid.uuid4().hex
        # key -> (value, monotonic time it expires)
        self.entries: dict[str, tuple[Any, float]] = {}
        self.messages = 0  # invalidations applied (and (re)subscriptions)
        self.links_lost = 0  # subscriptions that broke (see links_lost())
        self.trusted_until = 0.0
        self.viewing = False  # subscribed to the revocation channel (else nothing is kept)
        self.thread: threading.Thread | None = None
        self.stop = threading.Event()
        self.lock = threading.Lock()


_process = _Process()
# LOCATION -> this process's client for revocations (_publisher)
_publisher_client: dict[str, redis.Redis] = {}


def _forget_parent_view() -> None:
    """In a forked child: the parent's view, lease, subscriber (its thread did not survive
    the fork) and Redis connection are not this process's. The one place a fork is
    noticed."""
    global _process
    _process = _Process()
    _publisher_client.clear()


os.register_at_fork(after_in_child=_forget_parent_view)


def _cache_config() -> dict[str, Any]:
    return settings.CACHES["default"]


REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"


@functools.cache
def enabled() -> bool:
    """ACCOUNTS["LOCAL_VIEW"] with Django's Redis cache (read once: asked every request)."""
    return kit_settings.LOCAL_VIEW and (_cache_config()["BACKEND"] == REDIS_BACKEND)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("ACCOUNTS", "CACHES"):
        enabled.cache_clear()


def _names() -> dict[str, str]:
    # Channels span every database of a Redis server: the database number keeps apart
    # deployments (and test runs) that share a server and a key prefix.
    config = _cache_config()
    prefix = config.get("KEY_PREFIX", "")
    db = parse_url(config["LOCATION"]).get("db", 0)
    return {
        "channel": f"{prefix}:localview:db{db}",
        "members": f"{prefix}:localview:members",
        "pending": f"{prefix}:localview:pending:",
        "done": f"{prefix}:localview:done:",
    }


def _client(name: str | None = None) -> redis.Redis:
    # No silent retry: a reconnected subscription may have missed messages, so a broken
    # link must surface as an error (the view is then distrusted and emptied).
    return redis.Redis.from_url(
        _cache_config()["LOCATION"],
        socket_connect_timeout=1,
        socket_timeout=1,
        retry=Retry(NoBackoff(), 0),
        client_name=name,
    )


# --- request path --------------------------------------------------------------------------


def _current() -> _Process:
    """This process's view, its subscriber thread (re)started if it is not running."""
    process = _process
    thread = process.thread
    if thread is None or not thread.is_alive():
        with process.lock:
            if process.thread is None or not process.thread.is_alive():
                process.stop = threading.Event()
                process.thread = threading.Thread(
                    target=_subscribe,
                    args=(process, process.stop),
                    name="local-view",
                    daemon=True,
                )
                process.thread.start()
    return process


def trusted() -> bool:
    """True while this process is a member whose subscription is proven alive (its lease
    holds).

    The lease alone decides: a subscriber that stops, for whatever reason, ends it on
    its way out, so the thread is only looked at (and restarted) once the lease is over,
    not on every request; a forked child starts with a view of its own (at fork)."""
    if not enabled():
        return False
    if time.monotonic() < _process.trusted_until:
        return True
    return time.monotonic() < _current().trusted_until


def get(key: str) -> Any:
    """The value of `key` in the view, or MISS (also when the view cannot be trusted)."""
    if not trusted():
        return MISS
    entry = _process.entries.get(key)
    if entry is None or entry[1] <= time.monotonic():
        return MISS
    return entry[0]


def links_lost() -> int:
    """How many times this process's subscription broke: Redis restarted (with or without
    its data) or the network failed, so the cache may have missed a write meanwhile
    (accounts.revocation.state repairs it before trusting it again). The subscriber has no
    silent retry, so no break goes unnoticed while it runs."""
    return _process.links_lost


def messages_seen() -> int | None:
    """Read before a fill's Redis/database read; pass to `store`."""
    return _current().messages if enabled() else None


def store(key: str, value: Any, seen: int | None) -> None:
    """Keep `value` unless an invalidation arrived since `messages_seen()` returned `seen`
    (or this process holds no place among the members: it would never be trusted)."""
    process = _process
    if seen is None or process.messages != seen or not process.viewing:
        return
    if len(process.entries) >= _ENTRY_LIMIT:
        process.entries.clear()
    process.entries[key] = (value, time.monotonic() + kit_settings.LOCAL_VIEW_TTL)
    if process.messages != seen:  # a message raced with this store: it wins
        process.entries.pop(key, None)


def clear(process: _Process | None = None) -> None:
    """Empty this process's view (tests, `cache.clear()`)."""
    process = process or _process
    process.messages += 1
    process.entries.clear()


def drop_here(keys: Iterable[str]) -> None:
    """Drop `keys` from this process's view at once (a revocation still in its
    transaction: this process reads the database until `invalidate` runs on commit)."""
    process = _process
    process.messages += 1
    for key in keys:
        process.entries.pop(key, None)


# --- subscriber thread ------------------------------------------------------------------


def _apply(process: _Process, message: bytes, ack: Script, names: dict[str, str]) -> None:
    data = json.loads(message)
    process.messages += 1
    if data.get("all"):
        process.entries.clear()
    else:
        for key in data["keys"]:
            process.entries.pop(key, None)
    ack(
        keys=[names["pending"] + data["id"], names["done"] + data["id"]],
        args=[process.member, _KEY_TTL_MS],
    )


def _subscribe(process: _Process, stop: threading.Event) -> None:
    """Run until `stop` (this thread's own event: a thread that outlived its stop() never
    serves a later subscriber's): (re)connect, seek a place, heartbeat, apply
    invalidations; never trust a broken link."""
    names = _names()
    private = f"{names['channel']}:{process.member}"
    warned = False  # one warning per outage, not one per reconnect attempt
    while not stop.is_set():
        client = pubsub = None
        try:
            client = _client(f"localview-{process.member}")
            heartbeat = client.register_script(_HEARTBEAT_SCRIPT)
            ack = client.register_script(_ACK_SCRIPT)
            pubsub = client.pubsub()
            pubsub.subscribe(private)
            # Missed messages before this connection: nothing cached before it is trusted.
            process.viewing = False
            clear(process)
            warned = False
            _member_loop(process, stop, names, private, pubsub, heartbeat, ack)
        except Exception:  # any failure: distrust, reconnect
            process.trusted_until = 0.0
            process.links_lost += 1
            if not warned:
                logger.warning("local view subscription lost; checks read Redis until it is back")
                warned = True
            stop.wait(0.5)
        finally:
            process.trusted_until = 0.0
            process.viewing = False
            for closable in (pubsub, client):
                if closable is not None:
                    with contextlib.suppress(Exception):  # closing a broken link
                        closable.close()


def _member_loop(
    process: _Process,
    stop: threading.Event,
    names: dict[str, str],
    private: str,
    pubsub: PubSub,
    heartbeat: Script,
    ack: Script,
) -> None:
    """One connection's life; returns to reconnect afresh (a place lost while it slept)."""
    asked = joined = False
    sent: dict[str, float] = {}  # token -> when it was sent
    next_beat = 0.0
    while not stop.is_set():
        now = time.monotonic()
        if now >= next_beat:
            token = uuid.uuid4().hex
            answer = heartbeat(
                keys=[names["members"]],
                args=[
                    int(LEASE * 1000),
                    process.member,
                    private,
                    token,
                    kit_settings.LOCAL_VIEW_MAX_PROCESSES,
                    int(joined),
                ],
            )
            if answer == 1:
                sent = {token: now, **dict(list(sent.items())[-3:])}
                next_beat = now + _VIEWER_BEAT
            elif answer == 2:  # a place is free: subscribe, then take it once confirmed
                if not asked:
                    pubsub.subscribe(names["channel"])
                    asked = True
                next_beat = now + _SEEKER_BEAT
            elif asked:  # no place (lost while frozen): start over as a seeker
                return
            else:
                next_beat = now + _SEEKER_BEAT
        # Asleep until a message or the next heartbeat: an idle process costs no CPU.
        message = pubsub.get_message(timeout=max(0.0, next_beat - time.monotonic()))
        if message is None:
            continue
        channel = message["channel"].decode()
        if message["type"] == "subscribe" and channel == names["channel"]:
            # Subscribed: from here on every revocation reaches this connection.
            joined = process.viewing = True
            clear(process)
            next_beat = 0.0
        elif message["type"] != "message":
            continue
        elif channel == private:
            started = sent.pop(message["data"].decode(), None)
            if started is not None:
                process.trusted_until = max(process.trusted_until, started + LEASE)
        else:
            _apply(process, message["data"], ack, names)


def stop() -> None:
    """Stop this process's subscriber and leave the members (tests, process exit), so no
    revoker waits for its lease."""
    process = _process
    process.trusted_until = 0.0
    process.stop.set()
    running = process.thread is not None and enabled()
    if running:
        with contextlib.suppress(redis.RedisError):  # wakes it (it sleeps until a message)
            _publisher().publish(f"{_names()['channel']}:{process.member}", "stop")
    if process.thread is not None and process.thread is not threading.current_thread():
        process.thread.join(timeout=5)
    process.trusted_until = 0.0
    if running:
        with contextlib.suppress(redis.RedisError):  # else its lease ends on its own
            _publisher().zrem(_names()["members"], process.member)


atexit.register(stop)


# --- revocations --------------------------------------------------------------------------


def invalidate(keys: Collection[str] | None = None) -> None:
    """Drop `keys` (None: everything) from every process's view; return once every member
    has dropped them, or its lease has lapsed."""
    if not enabled():
        return
    if keys is None:
        clear()
    else:
        drop_here(keys)
    names = _names()
    message_id = uuid.uuid4().hex
    body: dict[str, object] = {"id": message_id, "keys": list(keys or ())}
    if keys is None:
        body["all"] = True
    deadline = time.monotonic() + LEASE + LEASE_MARGIN
    client = _publisher()
    members_key, pending_key = names["members"], names["pending"] + message_id
    try:
        pending, lapse_ms = client.eval(
            _PUBLISH_SCRIPT,
            2,
            members_key,
            pending_key,
            names["channel"],
            json.dumps(body),
            _process.member,
            _KEY_TTL_MS,
        )
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.warning(
                    "local view: %d live process(es) did not acknowledge a revocation "
                    "within %.1f s",
                    pending,
                    LEASE + LEASE_MARGIN,
                )
                return
            # Woken by the last acknowledgement, or when the first pending lease lapses.
            wait = max(0.001, min(remaining, lapse_ms / 1000 + 0.002, 0.5))
            if client.blpop([names["done"] + message_id], timeout=wait) is not None:
                return
            pending, lapse_ms = client.eval(_CHECK_SCRIPT, 2, members_key, pending_key)
    except redis.RedisError:
        logger.warning("local view: revocation not published; waiting out the leases")
        remaining = deadline - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)  # bounded: no lease outlives it


def _publisher() -> redis.Redis:
    """A client of this process for revocations (not the cache's: not counted per request)."""
    owner = _cache_config()["LOCATION"]
    client = _publisher_client.get(owner)
    if client is None:
        _publisher_client.clear()
        client = _publisher_client[owner] = _client()
    return client
