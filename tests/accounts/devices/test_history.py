"""Sign-in and logout-all cost the same whatever a user's history (issue 18, item 4): they
read and revoke the live sessions (and the same device's unrevoked one) only, never the
expired rows that wait for flush_expired_sessions, and write their audit rows and cache
keys in bulk."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.devices import sessions
from accounts.models import AuthEvent, DeviceSession

pytestmark = pytest.mark.django_db

HISTORY = 1_000


@pytest.fixture
def request_():
    return RequestFactory().post("/", HTTP_USER_AGENT="okhttp/4.12")


@pytest.fixture
def history(user):
    """HISTORY sessions of `user` whose refresh token expired, never revoked (as most
    sessions end), and an expired unrevoked one of the device "phone"."""
    past = timezone.now() - timedelta(days=40)
    rows = [
        DeviceSession(
            user=user,
            device_id=f"old-{number}",
            created_at=past,
            last_used_at=past,
            refresh_jti=uuid.uuid4().hex,
            refresh_expires_at=past + timedelta(days=30),
        )
        for number in range(HISTORY)
    ]
    rows.append(
        DeviceSession(
            user=user,
            device_id="phone",
            created_at=past,
            last_used_at=past,
            refresh_jti=uuid.uuid4().hex,
            refresh_expires_at=past + timedelta(days=30),
        )
    )
    return DeviceSession.objects.bulk_create(rows)


@pytest.fixture
def sessions_loaded():
    """How many DeviceSession rows the code under test reads (each becomes an instance)."""
    loaded = []

    def count(sender, instance, **kwargs):
        loaded.append(instance)

    post_init.connect(count, sender=DeviceSession)
    yield loaded
    post_init.disconnect(count, sender=DeviceSession)


def _statements(queries, prefix):
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(prefix)]


def test_sign_in_reads_and_revokes_only_live_sessions(user, request_, history, sessions_loaded):
    live = [sessions.sign_in(request=request_, user=user, device_id=f"d{n}")[0] for n in (1, 2)]
    sessions_loaded.clear()
    with CaptureQueriesContext(connection) as queries:
        session, _ = sessions.sign_in(request=request_, user=user, device_id="phone")

    # Read: the two live sessions and the device's expired one; built: the new one.
    assert len(sessions_loaded) == 4
    assert len(queries) <= 10
    updates = _statements(queries, 'UPDATE "ACCOUNTS_DEVICESESSION"')
    assert len(updates) == 1
    replaced = DeviceSession.objects.filter(revoke_reason=DeviceSession.RevokeReason.REPLACED)
    assert [s.device_id for s in replaced] == ["phone"]
    # The rest of the history is untouched, the live sessions stay.
    assert DeviceSession.objects.filter(revoked_at__isnull=True).count() == HISTORY + 3
    assert {s.pk for s in sessions.active_sessions(user)} == {live[0].pk, live[1].pk, session.pk}


def test_logout_all_revokes_live_sessions_in_one_insert(user, request_, history, sessions_loaded):
    for n in (1, 2, 3):
        sessions.sign_in(request=request_, user=user, device_id=f"d{n}")
    sessions_loaded.clear()
    with CaptureQueriesContext(connection) as queries:
        count = sessions.revoke_all_sessions(
            user, reason=DeviceSession.RevokeReason.LOGOUT_ALL, request=request_
        )

    assert count == 3
    assert len(sessions_loaded) == 3
    assert len(queries) <= 8
    assert len(_statements(queries, 'INSERT INTO "ACCOUNTS_AUTHEVENT"')) == 1
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.SESSION_REVOKED).count() == 3
    assert not sessions.active_sessions(user).exists()
    # The expired history stays as it was, for flush_expired_sessions.
    assert DeviceSession.objects.filter(revoked_at__isnull=True).count() == HISTORY + 1


def test_deleting_a_user_audits_its_sessions_in_one_insert(user, request_):
    for n in (1, 2, 3):
        sessions.sign_in(request=request_, user=user, device_id=f"d{n}")
    username = user.username
    with CaptureQueriesContext(connection) as queries:
        user.delete()
    assert len(_statements(queries, 'INSERT INTO "ACCOUNTS_AUTHEVENT"')) == 1
    events = AuthEvent.objects.filter(kind=AuthEvent.Kind.SESSION_REVOKED, username=username)
    assert [event.detail for event in events] == [{"reason": "user_deleted"}] * 3
