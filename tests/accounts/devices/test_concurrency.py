"""Concurrent requests on PostgreSQL, through the routes: sign-ins at the device limit with
`evict_oldest`, sign-ins repeating one `device_id`, and two exchanges of one refresh token
with and without the grace window.

The sign-ins start together at a barrier. The two exchanges are made to overlap for sure:
the test holds the session's row lock, so both have read the row and wait to write it;
PostgreSQL shows them both waiting before the lock is let go."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.test import Client

from accounts.models import DeviceSession
from tests.factories import DEFAULT_PASSWORD

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
VERIFY = "/api/v1/auth/token/verify/"
ME = "/api/v1/me/"
WAIT = 30  # seconds: bounds every wait, never reached when the code is right


def _post(url, body):
    """(status, JSON body) of one request, on this thread's own database connection."""
    try:
        response = Client().post(url, body, content_type="application/json")
        return response.status_code, response.json()
    finally:
        connection.close()


def _together(calls):
    """Run the calls on threads released at once by a barrier: -> their answers."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=WAIT)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _sign_in_call(user, device_id):
    body = {"username": user.username, "password": DEFAULT_PASSWORD, "device_id": device_id}
    return lambda: _post(TOKEN, body)


def _me(access):
    response = Client().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}")
    return response.status_code, response.json().get("code")


def test_evict_oldest_holds_the_limit_under_concurrent_sign_ins(make_user, settings):
    """Three devices at a limit of three, then six new ones at once: each sign-in is
    answered 200, and at the end exactly three sessions are live, the rest evicted."""
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "MAX_DEVICES": 3,
        "DEVICE_LIMIT_POLICY": "evict_oldest",
    }
    user = make_user()
    for number in range(3):
        assert _sign_in_call(user, f"old-{number}")()[0] == 200

    answers = _together([_sign_in_call(user, f"new-{number}") for number in range(6)])

    assert [status for status, _ in answers] == [200] * 6, answers
    live = DeviceSession.objects.filter(user=user, revoked_at__isnull=True)
    assert live.count() == 3
    assert not live.filter(device_id__startswith="old-").exists()
    evicted = DeviceSession.objects.filter(user=user, revoke_reason="device_limit")
    assert evicted.count() == 6
    # What the apps see: three of the six new devices work, the others are signed out.
    seen = sorted(_me(body["access"]) for _, body in answers)
    assert seen == [(200, None)] * 3 + [(401, "session_revoked")] * 3


def test_concurrent_sign_ins_with_one_device_id_leave_one_session(make_user):
    """Six sign-ins of one device at once: each replaces the one before, none is a 500 or
    a constraint error; one session is live and only its tokens work."""
    user = make_user()

    answers = _together([_sign_in_call(user, "phone") for _ in range(6)])

    assert [status for status, _ in answers] == [200] * 6, answers
    assert DeviceSession.objects.filter(user=user, revoked_at__isnull=True).count() == 1
    assert DeviceSession.objects.filter(user=user, revoke_reason="replaced").count() == 5
    seen = sorted(_me(body["access"]) for _, body in answers)
    assert seen == [(200, None)] + [(401, "session_revoked")] * 5


def _waiting_for_locks():
    """How many other sessions of the test database wait for a lock (the first exchange
    waits on the test's lock, the second on the first)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND cardinality(pg_blocking_pids(pid)) > 0"
        )
        return cursor.fetchone()[0]


def _exchanged_together(session_id, refresh_token, device_id):
    """Two exchanges of one refresh token, both past their read of the session row before
    either writes (the test holds the row's lock until both wait on it)."""
    body = {"refresh": refresh_token, "device_id": device_id}
    with ThreadPoolExecutor(max_workers=2) as pool:
        with transaction.atomic():
            DeviceSession.objects.select_for_update().get(pk=session_id)
            futures = [pool.submit(_post, REFRESH, body) for _ in range(2)]
            deadline = time.monotonic() + WAIT
            while _waiting_for_locks() < 2:
                assert time.monotonic() < deadline, "the exchanges never reached the write"
                assert not any(f.done() for f in futures), [f.result() for f in futures]
                time.sleep(0.01)  # poll interval, not a wait for timing
        return [future.result(timeout=WAIT) for future in futures]


@pytest.fixture
def signed_in(make_user):
    user = make_user()
    status, body = _sign_in_call(user, "phone")()
    assert status == 200, body
    return body


def test_two_concurrent_exchanges_without_grace_rotate_once_and_end_the_session(
    signed_in, settings
):
    """No grace window: one exchange rotates, the other is a reuse, which ends the device
    session, so even the winner's new pair is refused."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "REFRESH_REUSE_GRACE_SECONDS": 0}

    answers = _exchanged_together(signed_in["device"]["id"], signed_in["refresh"], "phone")

    assert sorted((status, body.get("code")) for status, body in answers) == [
        (200, None),
        (401, "refresh_reused"),
    ]
    [(_, winner)] = [a for a in answers if a[0] == 200]
    assert _me(winner["access"]) == (401, "session_revoked")
    assert DeviceSession.objects.get().revoke_reason == "refresh_reused"


def test_two_concurrent_exchanges_within_the_grace_window_both_get_a_pair(signed_in, settings):
    """With a grace window the loser is answered like a retry: a fresh pair of the same
    session, which stays live."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "REFRESH_REUSE_GRACE_SECONDS": 30}

    answers = _exchanged_together(signed_in["device"]["id"], signed_in["refresh"], "phone")

    assert [status for status, _ in answers] == [200, 200], answers
    for _, pair in answers:
        assert _me(pair["access"]) == (200, None)
    session = DeviceSession.objects.get()
    assert session.revoked_at is None
    # One of the two refresh tokens is the session's current one (the other is spent:
    # only the token just before the current one is graced), and it goes on rotating.
    verified = [_post(VERIFY, {"token": pair["refresh"]}) for _, pair in answers]
    current = [
        pair for (_, pair), (status, _) in zip(answers, verified, strict=True) if status == 200
    ]
    assert len(current) == 1, verified
    assert _post(REFRESH, {"refresh": current[0]["refresh"], "device_id": "phone"})[0] == 200
