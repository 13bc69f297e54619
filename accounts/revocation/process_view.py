"""A per-process view of session and API-key state: a warm check makes no Redis round trip.

Contract kept: a request that starts after a revoking call has returned is refused on every
worker and every instance.

How (shared Redis cache only, setting ACCOUNTS["LOCAL_VIEW"]):
- Each process keeps `cache key -> (value, expiry)` in memory, filled from the Redis or
  database reads the check makes anyway; an entry lives ACCOUNTS["LOCAL_VIEW_TTL"] seconds.
- Each process runs one daemon subscriber thread (started on first use, restarted after a
  fork) on the channel `<KEY_PREFIX>:localview`. A message names cache keys (or "all");
  the thread bumps a message counter, drops those entries, THEN acknowledges
  (`RPUSH <ack list of the message> <member id>`). The channel name also carries the
  Redis database number.
- Leases: every ~LEASE/3 the thread runs one script that records the process in a Redis
  sorted set `<prefix>:localview:members` scored by Redis time + LEASE, and publishes a
  heartbeat to the process's private channel on the same subscriber connection. When the
  heartbeat comes back, the process trusts its view until (send time + LEASE) by its own
  monotonic clock; that moment is never later than its score in Redis (the score is taken
  after the send). A request uses the view only while the lease holds; otherwise it takes
  the one-GET path (and still fills the view).
- A revocation drops the keys from its own process's view at once (also before commit,
  like the Redis delete), and after its Redis write-through PUBLISHes and waits until as
  many members acknowledged as PUBLISH reached AND every member whose lease is still
  alive by Redis time has acknowledged. A member that does not ack
  (its subscription broke, a partition) stops trusting its view when its lease ends, so
  the wait is bounded by LEASE (+ a margin); if Redis cannot be reached to publish, the
  revoking call waits one LEASE, after which no process can trust a view the message
  missed. A (re)subscription bumps the counter and empties the view.
- A fill reads the counter before its Redis/database read and stores only if no message
  arrived meanwhile, so a value read before a revocation never lands after it.

Residual risk (exact): the lease compares a process's monotonic clock with Redis's clock
over at most LEASE seconds, so a clock running slower than Redis's by more than the margin
(LEASE_MARGIN) over that span, or a process frozen (SIGSTOP, VM pause) between its lease
check and its map read for longer than that, could let one request that started after a
revocation returned see the old state. A revocation whose own Redis write-through failed
is as today (accounts.revocation.state, "Left open"): other processes may refill their view
from the stale Redis entry until the repair, whose replay also empties every view. A
FLUSHDB empties the member registry for up to LEASE/4 (until the next heartbeats); a
revocation in that window still waits for every receiver of its message, so only a member
whose subscription is silently broken at that very moment is not waited for. A revocation
made while Redis is unreachable blocks its caller LEASE + margin. The view is not used
while the cache awaits its repair (accounts.revocation.state.view_get).
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

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.backoff import NoBackoff
from redis.connection import parse_url
from redis.retry import Retry

from accounts.conf import kit_settings

logger = logging.getLogger(__name__)

LEASE = 2.0  # seconds a heartbeat round trip is trusted
LEASE_MARGIN = 0.5  # extra wait of a revoker for members it cannot hear from
_HEARTBEAT_EVERY = LEASE / 4
_ACK_TTL = 30
_ENTRY_LIMIT = 100_000

# Registers the member (score = Redis time + lease, in ms), prunes long-dead ones, and
# publishes the heartbeat on the member's private channel.
_HEARTBEAT_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
redis.call('PEXPIRE', KEYS[1], 120000)
return redis.call('PUBLISH', ARGV[3], ARGV[4])
"""
# Members whose lease is alive by Redis time.
_LIVE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
"""

MISS = object()


class _Process:
    """The view of this process (replaced after a fork)."""

    def __init__(self):
        self.member = uuid.uuid4().hex
        self.entries = {}
        self.messages = 0  # invalidations applied (and (re)subscriptions)
        self.links_lost = 0  # subscriptions that broke (see links_lost())
        self.trusted_until = 0.0
        self.thread = None
        self.stop = threading.Event()
        self.lock = threading.Lock()


_process = _Process()
_publisher_client = {}  # LOCATION -> this process's client for revocations (_publisher)


def _forget_parent_view():
    """In a forked child: the parent's view, lease, subscriber (its thread did not survive
    the fork) and Redis connection are not this process's. The one place a fork is
    noticed."""
    global _process
    _process = _Process()
    _publisher_client.clear()


os.register_at_fork(after_in_child=_forget_parent_view)


def _cache_config():
    return settings.CACHES["default"]


REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"


@functools.cache
def enabled():
    """ACCOUNTS["LOCAL_VIEW"] with Django's Redis cache (read once: asked every request)."""
    return kit_settings.LOCAL_VIEW and (_cache_config()["BACKEND"] == REDIS_BACKEND)


@receiver(setting_changed)
def _settings_changed(*, setting, **kwargs):
    if setting in ("ACCOUNTS", "CACHES"):
        enabled.cache_clear()


def _names():
    # Channels span every database of a Redis server: the database number keeps apart
    # deployments (and test runs) that share a server and a key prefix.
    config = _cache_config()
    prefix = config.get("KEY_PREFIX", "")
    db = parse_url(config["LOCATION"]).get("db", 0)
    return {
        "channel": f"{prefix}:localview:db{db}",
        "members": f"{prefix}:localview:members",
        "ack": f"{prefix}:localview:ack:",
    }


def _client(name=None):
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


def _current():
    """This process's view, its subscriber thread (re)started if it is not running."""
    process = _process
    thread = process.thread
    if thread is None or not thread.is_alive():
        with process.lock:
            if process.thread is None or not process.thread.is_alive():
                process.stop = threading.Event()
                process.thread = threading.Thread(
                    target=_subscribe, args=(process,), name="local-view", daemon=True
                )
                process.thread.start()
    return process


def trusted():
    """True while this process's subscription is proven alive (its lease holds).

    The lease alone decides: a subscriber that stops, for whatever reason, ends it on
    its way out, so the thread is only looked at (and restarted) once the lease is over,
    not on every request; a forked child starts with a view of its own (at fork)."""
    if not enabled():
        return False
    if time.monotonic() < _process.trusted_until:
        return True
    return time.monotonic() < _current().trusted_until


def get(key):
    """The value of `key` in the view, or MISS (also when the view cannot be trusted)."""
    if not trusted():
        return MISS
    entry = _process.entries.get(key)
    if entry is None or entry[1] <= time.monotonic():
        return MISS
    return entry[0]


def links_lost():
    """How many times this process's subscription broke: Redis restarted (with or without
    its data) or the network failed, so the cache may have missed a write meanwhile
    (accounts.revocation.state repairs it before trusting it again). The subscriber has no
    silent retry, so no break goes unnoticed while it runs."""
    return _process.links_lost


def messages_seen():
    """Read before a fill's Redis/database read; pass to `store`."""
    return _current().messages if enabled() else None


def store(key, value, seen):
    """Keep `value` unless an invalidation arrived since `messages_seen()` returned `seen`."""
    process = _process
    if seen is None or process.messages != seen:
        return
    if len(process.entries) >= _ENTRY_LIMIT:
        process.entries.clear()
    process.entries[key] = (value, time.monotonic() + kit_settings.LOCAL_VIEW_TTL)
    if process.messages != seen:  # a message raced with this store: it wins
        process.entries.pop(key, None)


def clear(process=None):
    """Empty this process's view (tests, `cache.clear()`)."""
    process = process or _process
    process.messages += 1
    process.entries.clear()


def drop_here(keys):
    """Drop `keys` from this process's view at once (a revocation still in its
    transaction: this process reads the database until `invalidate` runs on commit)."""
    process = _process
    process.messages += 1
    for key in keys:
        process.entries.pop(key, None)


# --- subscriber thread ------------------------------------------------------------------


def _apply(process, message, client, names):
    data = json.loads(message)
    process.messages += 1
    if data.get("all"):
        process.entries.clear()
    else:
        for key in data["keys"]:
            process.entries.pop(key, None)
    ack = names["ack"] + data["id"]
    with client.pipeline(transaction=False) as pipe:
        pipe.rpush(ack, process.member)
        pipe.expire(ack, _ACK_TTL)
        pipe.execute()


def _subscribe(process):
    """Run forever: (re)subscribe, heartbeat, apply invalidations; never trust a broken link."""
    names = _names()
    private = f"{names['channel']}:{process.member}"
    warned = False  # one warning per outage, not one per reconnect attempt
    while not process.stop.is_set():
        client = pubsub = None
        try:
            client = _client(f"localview-{process.member}")
            heartbeat = client.register_script(_HEARTBEAT_SCRIPT)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(names["channel"], private)
            # Missed messages before this subscription: nothing cached before it is trusted.
            clear(process)
            warned = False
            sent = {}
            next_beat = 0.0
            while not process.stop.is_set():
                now = time.monotonic()
                if now >= next_beat:
                    token = uuid.uuid4().hex
                    sent = {token: now, **dict(list(sent.items())[-3:])}
                    heartbeat(
                        keys=[names["members"]],
                        args=[int(LEASE * 1000), process.member, private, token],
                    )
                    next_beat = now + _HEARTBEAT_EVERY
                message = pubsub.get_message(timeout=_HEARTBEAT_EVERY / 2)
                if message is None or message["type"] != "message":
                    continue
                channel = message["channel"].decode()
                if channel == private:
                    started = sent.pop(message["data"].decode(), None)
                    if started is not None:
                        process.trusted_until = max(process.trusted_until, started + LEASE)
                else:
                    _apply(process, message["data"], client, names)
        except Exception:  # any failure: distrust, reconnect
            process.trusted_until = 0.0
            process.links_lost += 1
            if not warned:
                logger.warning("local view subscription lost; checks read Redis until it is back")
                warned = True
            process.stop.wait(0.5)
        finally:
            process.trusted_until = 0.0
            for closable in (pubsub, client):
                if closable is not None:
                    with contextlib.suppress(Exception):  # closing a broken link
                        closable.close()


def stop():
    """Stop this process's subscriber and leave the members (tests, process exit), so no
    revoker waits for its lease."""
    process = _process
    process.trusted_until = 0.0
    process.stop.set()
    if process.thread is not None and process.thread is not threading.current_thread():
        process.thread.join(timeout=5)
    process.trusted_until = 0.0
    if process.thread is not None and enabled():
        with contextlib.suppress(redis.RedisError):  # else its lease ends on its own
            _publisher().zrem(_names()["members"], process.member)


atexit.register(stop)


# --- revocations --------------------------------------------------------------------------


def invalidate(keys=None):
    """Drop `keys` (None: everything) from every process's view; return once every process
    that may trust its view has dropped them, or its lease has ended."""
    if not enabled():
        return
    if keys is None:
        clear()
    else:
        drop_here(keys)
    names = _names()
    message_id = uuid.uuid4().hex
    body = {"id": message_id, "keys": list(keys or ())}
    if keys is None:
        body["all"] = True
    deadline = time.monotonic() + LEASE + LEASE_MARGIN
    client = _publisher()
    ack = names["ack"] + message_id
    try:
        receivers = client.publish(names["channel"], json.dumps(body))
        acked = set()
        while True:
            live = {member.decode() for member in client.eval(_LIVE_SCRIPT, 1, names["members"])}
            # Every receiver (the registry may have been flushed) and every live lease.
            if len(acked) >= receivers and live <= acked:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # Cannot happen unless clocks disagree: every lease has ended by now.
                logger.error("local view: %s never acknowledged a revocation", live - acked)
                return
            popped = client.blpop([ack], timeout=min(remaining, 0.1))
            while popped is not None:
                acked.add(popped[1].decode())
                popped = client.lpop(ack)
                popped = (ack, popped) if popped is not None else None
    except redis.RedisError:
        logger.warning("local view: revocation not published; waiting out the leases")
        remaining = deadline - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)  # bounded: no lease outlives it


def _publisher():
    """A client of this process for revocations (not the cache's: not counted per request)."""
    owner = _cache_config()["LOCATION"]
    client = _publisher_client.get(owner)
    if client is None:
        _publisher_client.clear()
        client = _publisher_client[owner] = _client()
    return client
