"""Redis down (issue 6, item 5): authentication reads the database and never fails open,
one warning is logged, /healthz says degraded, and a revocation made while Redis was
unreachable is still enforced once it is back, although Redis kept an "active" entry.

Redis is made unreachable for this process only, by pointing the cache at a closed port
of 127.0.0.1: the shared Redis server other processes use is never stopped.
"""

import logging
import socket
from contextlib import contextmanager

import pytest
import redis
from django.core.cache import cache

from accounts.apikeys import keys as api_keys
from accounts.devices import sessions
from accounts.models import DeviceSession
from accounts.revocation import process_view
from accounts.revocation import state as session_state

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

ME_URL = "/api/v1/me/"
PING_URL = "/api/v1/service/ping/"


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens


@pytest.fixture
def redis_unreachable(settings):
    """`with redis_unreachable():` the cache points at a closed port, then back."""
    reachable = settings.CACHES
    default = reachable["default"]
    unreachable = {
        **reachable,
        "default": {**default, "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0"},
    }

    @contextmanager
    def _unreachable():
        # A real outage also cuts this process's pub/sub subscription (its view's lease).
        process_view.stop()
        settings.CACHES = unreachable
        try:
            yield
        finally:
            settings.CACHES = reachable

    return _unreachable


@pytest.fixture
def signed_in(sign_in, django_capture_on_commit_callbacks):
    """(session, access token) of a fresh sign-in, its state cached as a real commit would."""
    with django_capture_on_commit_callbacks(execute=True):
        access = sign_in().json()["access"]
    return DeviceSession.objects.get(), access


def _state_entry(session):
    return cache.get(f"devsess:{session.pk}")


def _warnings(caplog):
    """Warnings of the kit (django.request logs every 401 as a warning of its own)."""
    return [
        r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "django.request"
    ]


def test_unreachable_redis_reads_the_database_and_warns_once(
    signed_in, api_client, bearer, sign_in, redis_unreachable, caplog
):
    session, access = signed_in
    other = sign_in(device_id="phone-2").json()["access"]
    assert api_client.get(ME_URL, **bearer(access)).status_code == 200
    DeviceSession.objects.filter(pk=session.pk).update(revoked_at=session.created_at)
    assert _state_entry(session)[0] is True  # Redis still says active

    caplog.set_level(logging.WARNING)
    with redis_unreachable():
        for _ in range(3):
            response = api_client.get(ME_URL, **bearer(access))
            assert response.status_code == 401
            assert response.json()["code"] == "session_revoked"
            # Another session, active in the database, still works without the cache.
            assert api_client.get(ME_URL, **bearer(other)).status_code == 200
    # One warning for the whole outage from the check (not one per request), and at most
    # one from the local view's subscriber (not one per reconnect attempt).
    by_logger = [r.name for r in _warnings(caplog)]
    assert by_logger.count("accounts.revocation.state") == 1, [r.message for r in caplog.records]
    assert by_logger.count("accounts.revocation.process_view") <= 1
    assert set(by_logger) <= {"accounts.revocation.state", "accounts.revocation.process_view"}
    check_warning = next(r for r in _warnings(caplog) if r.name == "accounts.revocation.state")
    assert "authentication reads the database" in check_warning.message


def test_healthz_is_degraded_while_redis_is_unreachable(api_client, redis_unreachable):
    with redis_unreachable():
        response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "error"}
    assert api_client.get("/healthz").json()["status"] == "ok"


def test_session_revoked_while_redis_was_unreachable_stays_revoked(
    signed_in, api_client, bearer, redis_unreachable, django_capture_on_commit_callbacks
):
    session, access = signed_in
    assert api_client.get(ME_URL, **bearer(access)).status_code == 200
    stale = _state_entry(session)
    assert stale[0] is True

    with redis_unreachable(), django_capture_on_commit_callbacks(execute=True):
        assert sessions.revoke_session(session, reason="admin") is True  # write-through fails

    # Redis is back and still holds the "active" entry written before the revocation.
    assert _state_entry(session) == stale
    response = api_client.get(ME_URL, **bearer(access))
    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"
    # The cache was repaired: the entry now says revoked, for every process.
    assert _state_entry(session)[0] is False
    assert api_client.get(ME_URL, **bearer(access)).status_code == 401


def test_api_key_revoked_while_redis_was_unreachable_stays_revoked(
    make_api_key, api_client, redis_unreachable, django_capture_on_commit_callbacks
):
    api_key, raw_key = make_api_key()
    assert api_client.get(PING_URL, HTTP_X_API_KEY=raw_key).status_code == 200
    assert cache.get(f"apikey:{api_key.prefix}")["revoked_at"] is None

    with redis_unreachable(), django_capture_on_commit_callbacks(execute=True):
        assert api_keys.revoke_api_key(api_key) is True  # write-through fails

    assert cache.get(f"apikey:{api_key.prefix}")["revoked_at"] is None  # stale
    assert api_client.get(PING_URL, HTTP_X_API_KEY=raw_key).status_code == 401
    assert cache.get(f"apikey:{api_key.prefix}")["revoked_at"] is not None
    assert api_client.get(PING_URL, HTTP_X_API_KEY=raw_key).status_code == 401


def test_an_active_api_key_works_while_redis_is_unreachable(
    make_api_key, api_client, redis_unreachable
):
    _, raw_key = make_api_key()
    with redis_unreachable():
        assert api_client.get(PING_URL, HTTP_X_API_KEY=raw_key).status_code == 200


def test_a_redis_that_lost_its_data_is_repaired_before_it_is_trusted(signed_in, api_client, bearer):
    """The epoch marker is gone (Redis restarted without its data, was flushed, or evicted
    it): no process trusts what the cache holds until recent revocations are replayed,
    even if it never saw an error."""
    session, access = signed_in
    assert api_client.get(ME_URL, **bearer(access)).status_code == 200
    # A revocation whose write-through was lost; Redis still holds the "active" entry.
    DeviceSession.objects.filter(pk=session.pk).update(revoked_at=session.created_at)
    cache.delete(session_state.EPOCH_KEY)

    assert api_client.get(ME_URL, **bearer(access)).status_code == 401
    assert _state_entry(session)[0] is False
    assert cache.get(session_state.EPOCH_KEY) is not None


def test_a_broken_subscription_replays_revocations_before_the_cache_is_trusted(
    signed_in, api_client, bearer, settings, wait_for, django_assert_num_queries
):
    """Redis restarted with its data (or the network broke): the local view's subscriber
    saw its link break, so this process repairs before it trusts the cache again, although
    no cache call of its own failed (redis-py reconnects those silently).

    Query counts tell which source answered: none while the cache is trusted, the
    database's while it is not."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOCAL_VIEW": True}
    session, access = signed_in
    try:
        wait_for(process_view.trusted)
        assert api_client.get(ME_URL, **bearer(access)).status_code == 200
        # A revocation whose write-through was lost; Redis still holds the "active" entry.
        DeviceSession.objects.filter(pk=session.pk).update(revoked_at=session.created_at)
        with django_assert_num_queries(0):  # before: the cache is trusted, stale as it is
            assert api_client.get(ME_URL, **bearer(access)).status_code == 200
        lost = process_view.links_lost()
        admin = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
        mine = f"localview-{process_view._current().member}"  # never another process's
        for client in admin.client_list():
            if client["name"] == mine:
                admin.execute_command("CLIENT", "KILL", "ID", client["id"])
        admin.close()
        wait_for(lambda: process_view.links_lost() > lost)

        response = api_client.get(ME_URL, **bearer(access))
        assert (response.status_code, response.json()["code"]) == (401, "session_revoked")
        assert _state_entry(session)[0] is False
        # After: repaired once, the cache is trusted again and now says revoked.
        with django_assert_num_queries(0):
            response = api_client.get(ME_URL, **bearer(access))
        assert (response.status_code, response.json()["code"]) == (401, "session_revoked")
    finally:
        process_view.stop()
