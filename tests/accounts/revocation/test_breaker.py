"""A hung Redis (accepting connections, never answering) costs each process one timeout,
then the cache's circuit breaker skips it for ACCOUNTS_CACHE_BREAKER_SECONDS (issue 18,
item 5): /me answers from the database at once, revoked tokens stay refused, sign-ins
(lockout, rate limits) do not wait either. And the repair after an outage: one replay
shared by every process (a lock and tickets in Redis), in chunks, without ORDER BY, off the
request path.

The hung Redis is a socket that listens and never reads (the kernel completes the TCP
handshake): the cache's socket timeout (1 s) is what every call would wait.
"""

import socket
import statistics
import time
from contextlib import contextmanager

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.devices import session_state
from accounts.models import DeviceSession
from accounts.revocation import process_view
from accounts.revocation import state as revocation_state

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

ME_URL = "/api/v1/me/"
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def redis_hung(settings):
    """`with redis_hung():` the cache points at a socket that never answers, then back;
    the breaker as in production (5 s), the local view off (one process here)."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "CACHE_BREAKER_SECONDS": 5, "LOCAL_VIEW": False}
    reachable = settings.CACHES
    process_view.stop()

    @contextmanager
    def _hung():
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(64)
            port = listener.getsockname()[1]
            default = {**reachable["default"], "LOCATION": f"redis://127.0.0.1:{port}/0"}
            settings.CACHES = {**reachable, "default": default}
            try:
                yield
            finally:
                settings.CACHES = reachable

    return _hung


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_me_waits_on_a_hung_redis_once_then_reads_the_database(
    sign_in, api_client, bearer, redis_hung
):
    access = sign_in().json()["access"]
    revoked = sign_in(device_id="phone-2").json()["access"]
    DeviceSession.objects.filter(device_id="phone-2").update(revoked_at=timezone.now())

    with redis_hung():
        first, first_took = _timed(lambda: api_client.get(ME_URL, **bearer(access)))
        answers = [_timed(lambda: api_client.get(ME_URL, **bearer(access))) for _ in range(7)]
        refused = api_client.get(ME_URL, **bearer(revoked))

    assert first.status_code == 200
    assert first_took >= 0.9  # the one socket timeout
    assert [response.status_code for response, _ in answers] == [200] * 7
    assert statistics.median(took for _, took in answers) < 0.1
    assert (refused.status_code, refused.json()["code"]) == (401, "session_revoked")


def test_a_sign_in_does_not_wait_on_a_hung_redis_either(sign_in, api_client, bearer, redis_hung):
    access = sign_in().json()["access"]
    with redis_hung():
        api_client.get(ME_URL, **bearer(access))  # the one timeout: the breaker opens
        response, took = _timed(lambda: sign_in(device_id="phone-2"))
    assert response.status_code == 200
    assert took < 0.5  # the lockout, rate limit and last-used gates skip the cache


@pytest.fixture
def revocations(user):
    """2,500 sessions revoked just now (a big outage's worth, at test scale)."""
    now = timezone.now()
    rows = DeviceSession.objects.bulk_create(
        DeviceSession(
            user=user,
            device_id=f"d{number}",
            refresh_jti=f"j{number}",
            refresh_expires_at=now,
            revoked_at=now,
        )
        for number in range(2500)
    )
    return [row.pk for row in rows]


def test_a_repair_replays_in_chunks_without_order_by(revocations, monkeypatch):
    calls = []
    set_many = cache.set_many
    monkeypatch.setattr(
        cache,
        "set_many",
        lambda entries, *a, **k: calls.append(len(entries)) or set_many(entries, *a, **k),
    )
    with CaptureQueriesContext(connection) as queries:
        assert revocation_state.repair() is True
    assert sum(calls) == 2500
    assert max(calls) <= revocation_state.REPAIR_CHUNK
    assert not [q["sql"] for q in queries if "ORDER BY" in q["sql"].upper()]
    assert cache.get(f"devsess:{revocations[0]}") == session_state._to_value(session_state.REVOKED)


def test_a_repair_another_process_completed_is_not_replayed_again(revocations, monkeypatch):
    """Tickets: a repair done for every ticket taken so far (another worker's, run after
    this process's failure) covers this process; it replays nothing itself."""
    cache.set(revocation_state.REPAIR_ASKED_KEY, 7, None)
    cache.set(revocation_state.REPAIR_DONE_KEY, 8, None)  # covers the next ticket, 8
    monkeypatch.setattr(cache, "set_many", lambda *a, **k: pytest.fail("replayed again"))
    assert revocation_state.repair() is True


def test_a_request_never_waits_for_the_repair(sign_in, api_client, bearer, monkeypatch):
    """Another process holds the repair lock: this process's repair waits for it in the
    background while its requests read the database."""
    access = sign_in().json()["access"]
    monkeypatch.setattr(revocation_state, "repair_in_background", True)
    cache.set(revocation_state.REPAIR_LOCK_KEY, 1, 60)
    revocation_state.note_cache_error("read")  # this process saw a failure
    try:
        response, took = _timed(lambda: api_client.get(ME_URL, **bearer(access)))
        assert response.status_code == 200
        assert took < 0.1
        assert revocation_state._repair_thread.is_alive()  # still waiting for the lock
    finally:
        cache.set(revocation_state.REPAIR_DONE_KEY, 10**9, None)  # the other one finished
        revocation_state._repair_thread.join(5)
    assert not revocation_state._repair_thread.is_alive()
