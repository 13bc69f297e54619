"""manage.py revoke_sessions and flush_expired_sessions."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import AuthEvent, DeviceSession

ME_URL = "/api/v1/me/"

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_revoke_sessions(sign_in, user, api_client, bearer):
    pair = sign_in(device_id="a").json()
    sign_in(device_id="b")
    assert "Revoked 2 device session(s)" in run("revoke_sessions", user.username)
    assert api_client.get(ME_URL, **bearer(pair["access"])).json()["code"] == "session_revoked"
    event = AuthEvent.objects.filter(kind="session_revoked").first()
    assert event.actor == "manage.py revoke_sessions"
    assert event.detail == {"reason": "admin"}


def test_revoke_sessions_unknown_user():
    with pytest.raises(CommandError, match="No user named"):
        run("revoke_sessions", "nobody")


def test_flush_expired_sessions(sign_in, settings):
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "SESSION_RETENTION_DAYS": 30,
        "AUDIT_RETENTION_DAYS": 365,
    }
    now = timezone.now()
    for device_id in ("live", "revoked-long-ago", "revoked-recently", "expired-long-ago"):
        sign_in(device_id=device_id)
    DeviceSession.objects.filter(device_id="revoked-long-ago").update(
        revoked_at=now - timedelta(days=31)
    )
    DeviceSession.objects.filter(device_id="revoked-recently").update(
        revoked_at=now - timedelta(days=29)
    )
    DeviceSession.objects.filter(device_id="expired-long-ago").update(
        refresh_expires_at=now - timedelta(days=31)
    )
    old_event = AuthEvent.objects.first()
    AuthEvent.objects.filter(pk=old_event.pk).update(created_at=now - timedelta(days=366))
    events_before = AuthEvent.objects.count()

    output = run("flush_expired_sessions")

    assert "Deleted 2 ended device session(s) and 1 audit event(s)." in output
    assert set(DeviceSession.objects.values_list("device_id", flat=True)) == {
        "live",
        "revoked-recently",
    }
    assert AuthEvent.objects.count() == events_before - 1
    assert not AuthEvent.objects.filter(pk=old_event.pk).exists()
