"""Fixtures of the admin suites: device-session rows made directly (no sign-in round trip)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import DeviceSession


@pytest.fixture
def make_session(db):
    """make_session(user, **fields): a live device session row of `user`."""

    def _make_session(user, **fields):
        now = timezone.now()
        values = {
            "device_id": uuid.uuid4().hex,
            "refresh_jti": uuid.uuid4().hex,
            "refresh_expires_at": now + timedelta(days=1),
            **fields,
        }
        return DeviceSession.objects.create(user=user, **values)

    return _make_session
