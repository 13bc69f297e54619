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


@pytest.fixture
def give_factors(db):
    """give_factors(user): a TOTP, recovery codes (allauth's own activate) and a passkey
    row of `user` in allauth's store (the admin only deletes the passkey: its name is all
    the pages read of it)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    def _give_factors(user):
        TOTP.activate(user, generate_totp_secret())
        RecoveryCodes.activate(user)
        Authenticator.objects.create(
            user=user, type=Authenticator.Type.WEBAUTHN, data={"name": "Ada's key"}
        )

    return _give_factors
