"""accounts.devices.sessions and its revocation state (accounts.devices.session_state): the
rules every caller shares."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import errors
from accounts.devices import session_state, sessions
from accounts.devices.tokens import decode_access
from accounts.models import AuthEvent, DeviceSession
from accounts.revocation.state import cache_is_shared
from tests.factories import DEFAULT_PASSWORD


@pytest.fixture
def request_():
    request = RequestFactory().post("/", HTTP_USER_AGENT="okhttp/4.12")
    request.client_ip = "203.0.113.9"
    return request


@pytest.fixture
def shared_cache(monkeypatch):
    """Treat the configured cache as shared (it is, with Redis; locmem stands in here)."""
    monkeypatch.setattr("accounts.revocation.state.cache_is_shared", lambda: True)


@pytest.mark.django_db
def test_sign_in_records_device(user, request_):
    session, pair = sessions.sign_in(request=request_, user=user, device_id="d1")
    assert session.ip_address == "203.0.113.9"
    assert session.user_agent == "okhttp/4.12"
    assert session.name == "okhttp/4.12"
    assert decode_access(pair.access).session_id == session.pk
    assert list(sessions.active_sessions(user)) == [session]


@pytest.mark.django_db
def test_revoke_session_is_idempotent_and_audited(user, request_):
    session, _ = sessions.sign_in(request=request_, user=user)
    assert sessions.revoke_session(session, reason="admin", actor="root") is True
    assert sessions.revoke_session(session.pk, reason="admin", actor="root") is False
    event = AuthEvent.objects.get(kind="session_revoked")
    assert event.actor == "root"
    assert event.detail == {"reason": "admin"}
    assert event.session_id == session.pk


@pytest.mark.django_db
def test_revoke_all_keeps_one_and_ends_browser_sessions(user, request_):
    keep, _ = sessions.sign_in(request=request_, user=user, device_id="keep")
    sessions.sign_in(request=request_, user=user, device_id="other")
    version = user.sessions_version
    count = sessions.revoke_all_sessions(user, reason="password_changed", keep_session_id=keep.pk)
    assert count == 1
    assert list(sessions.active_sessions(user)) == [keep]
    assert user.sessions_version == version + 1
    assert get_user_model().objects.get(pk=user.pk).sessions_version == version + 1


@pytest.mark.django_db
def test_events_never_hold_tokens(user, request_):
    _, pair = sessions.sign_in(request=request_, user=user, device_id="d1")
    with pytest.raises(errors.DeviceMismatch):
        sessions.refresh(request=request_, raw_refresh=pair.refresh, device_id="x")
    sessions.refresh(request=request_, raw_refresh=pair.refresh, device_id="d1")
    with pytest.raises(errors.RefreshReused):
        sessions.refresh(request=request_, raw_refresh=pair.refresh, device_id="d1")
    assert AuthEvent.objects.count() == 4  # signed in, mismatch, reuse, revoked
    for event in AuthEvent.objects.all():
        text = f"{event.detail} {event.username} {event.actor} {event.user_agent}"
        assert pair.refresh not in text
        assert pair.access not in text
        assert DEFAULT_PASSWORD not in text


# --- the revocation state ---------------------------------------------------------------


@pytest.mark.django_db
def test_shared_cache_check_is_one_get(
    user, request_, shared_cache, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        session, pair = sessions.sign_in(request=request_, user=user)
    token = decode_access(pair.access)
    with django_assert_num_queries(0):
        sessions.check_access(token)
    with django_capture_on_commit_callbacks(execute=True):
        sessions.revoke_session(session, reason="admin")
    assert cache.get(f"devsess:{session.pk}") == (False, 0, None)
    with django_assert_num_queries(0), pytest.raises(errors.SessionRevoked):
        sessions.check_access(token)


@pytest.mark.django_db
def test_miss_fills_with_add_and_never_overwrites(user, request_, shared_cache, no_local_view):
    session, _ = sessions.sign_in(request=request_, user=user)
    cache.delete(f"devsess:{session.pk}")
    assert session_state.get_session_state(session.pk).active is True
    assert cache.get(f"devsess:{session.pk}") == (True, 0, user.pk)
    # A revocation's value stays even though a reader then "fills" the entry.
    cache.set(f"devsess:{session.pk}", (False, 0, user.pk))
    cache.add(f"devsess:{session.pk}", (True, 0, user.pk))
    assert session_state.get_session_state(session.pk).active is False


@pytest.mark.django_db
def test_revocation_deletes_entry_before_commit(user, request_, shared_cache):
    session, pair = sessions.sign_in(request=request_, user=user)
    cache.set(f"devsess:{session.pk}", (True, 0))
    sessions.revoke_session(session, reason="admin")  # on_commit not run in this test
    assert cache.get(f"devsess:{session.pk}") is None
    with pytest.raises(errors.SessionRevoked):
        sessions.check_access(decode_access(pair.access))


@pytest.mark.django_db
def test_cache_error_never_fails_open(user, request_, shared_cache, monkeypatch, caplog):
    session, pair = sessions.sign_in(request=request_, user=user)
    cache.set(f"devsess:{session.pk}", (True, 0))
    DeviceSession.objects.filter(pk=session.pk).update(revoked_at=session.created_at)

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    for read in ("get", "get_many"):  # every read of the cache fails
        monkeypatch.setattr(cache, read, broken)
    with pytest.raises(errors.SessionRevoked):
        sessions.check_access(decode_access(pair.access))
    assert "authentication reads the database" in caplog.text


@pytest.mark.django_db
def test_per_process_cache_reads_database(user, request_, django_assert_num_queries):
    if cache_is_shared():
        pytest.skip("runs with the local-memory cache")
    _, pair = sessions.sign_in(request=request_, user=user)
    with django_assert_num_queries(1):
        sessions.check_access(decode_access(pair.access))


# --- concurrency ------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_device_limit_holds_under_concurrent_sign_ins(make_user, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 5, "DEVICE_LIMIT_POLICY": "reject"}
    user = make_user()
    barrier = threading.Barrier(20)

    def sign_in_from(device_number):
        try:
            client = APIClient()
            barrier.wait(timeout=30)
            response = client.post(
                "/api/v1/auth/token/",
                {
                    "username": user.username,
                    "password": DEFAULT_PASSWORD,
                    "device_id": f"device-{device_number}",
                },
                format="json",
            )
            return response.status_code, response.json().get("code")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(sign_in_from, range(20)))

    assert sorted(results, key=str).count((200, None)) == 5
    assert results.count((403, "device_limit_reached")) == 15
    assert DeviceSession.objects.filter(user=user, revoked_at__isnull=True).count() == 5
    assert DeviceSession.objects.filter(user=user).count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_exchanges_of_one_refresh_token_rotate_once(make_user, settings, monkeypatch):
    """Three exchanges of one refresh token, each held after reading the session until all
    three have read it (so all saw the token current): exactly one rotates the session, the
    others are refused (taken for a reuse: no grace window here)."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "REFRESH_REUSE_GRACE_SECONDS": 0}
    user = make_user()
    signed_in = APIClient().post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": DEFAULT_PASSWORD, "device_id": "phone-1"},
        format="json",
    )
    presented = signed_in.json()["refresh"]
    exchanges = 3  # fewer than the pool's connections: none waits for another's
    all_read = threading.Barrier(exchanges)
    issue_pair = sessions.issue_pair

    def issue_once_all_have_read(*args, **kwargs):
        all_read.wait(timeout=30)
        return issue_pair(*args, **kwargs)

    monkeypatch.setattr(sessions, "issue_pair", issue_once_all_have_read)

    def exchange(_):
        try:
            response = APIClient().post(
                "/api/v1/auth/token/refresh/",
                {"refresh": presented, "device_id": "phone-1"},
                format="json",
            )
            return response.status_code, response.json().get("code")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=exchanges) as pool:
        results = list(pool.map(exchange, range(exchanges)))

    assert results.count((200, None)) == 1, results
    assert {code for status, code in results if status != 200} <= {
        "refresh_reused",
        "session_revoked",
    }
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.REFRESH_REUSED).exists()


@pytest.mark.django_db
def test_entry_cached_without_a_user_id_is_re_read_not_refused(user, request_, shared_cache):
    """An entry written before entries carried the user id (a rolling deploy) costs one
    query; it does not sign anyone out."""
    session, pair = sessions.sign_in(request=request_, user=user)
    cache.set(f"devsess:{session.pk}", (True, 0))
    assert sessions.check_access(decode_access(pair.access)).active is True
    assert cache.get(f"devsess:{session.pk}") == (True, 0, user.pk)


# --- the state read from the row (every request with local memory, a miss with Redis) ---


@pytest.mark.parametrize(
    ("change", "active"),
    [
        ({}, True),
        ({"revoked_at": "now"}, False),
        ({"refresh_expires_at": "past"}, False),
        ({"user_inactive": True}, False),
    ],
)
@pytest.mark.django_db
def test_the_state_read_from_the_row(user, request_, change, active):
    session, _ = sessions.sign_in(user=user, request=request_, device_id="state")
    if change.get("revoked_at"):
        DeviceSession.objects.filter(pk=session.pk).update(revoked_at=timezone.now())
    if change.get("refresh_expires_at"):
        past = timezone.now() - timedelta(seconds=1)
        DeviceSession.objects.filter(pk=session.pk).update(refresh_expires_at=past)
    if change.get("user_inactive"):
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    get_user_model().objects.filter(pk=user.pk).update(rights_version=7)
    state = session_state.read_session_state_from_db(session.pk)
    assert state == session_state.SessionState(active=active, rights_version=7, user_id=user.pk)
    assert session_state.read_session_state_from_db(uuid.uuid4()) is None
