"""accounts.users.deletion: a deleted account's personal data is erased after
ACCOUNTS_DELETION_GRACE_DAYS by `manage.py erase_deleted_accounts` (and by
flush_expired_sessions), the audit trail keeping the username."""

from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import call_command

from accounts.apikeys.keys import InvalidApiKeyError, authenticate_api_key
from accounts.devices.sessions import sign_in
from accounts.models import ApiKey, AuthEvent, DeviceSession, User
from accounts.users.deletion import account_delete

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


@pytest.fixture
def deleted(make_user, password, totp_enrol, make_api_key, mfa_clock):
    """A user with names, an address, TOTP, an API key and a device session, who deleted
    their account now (on the fake clock) -> (user, raw API key)."""
    user = make_user(
        username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace"
    )
    secret, _ = totp_enrol(user)
    _, raw_key = make_api_key(owner=user)
    sign_in(request=None, user=user, device_id="phone-1")
    account_delete(user=user, password=password, code=mfa_clock.code(secret), request=None)
    return user, raw_key


def erase(command="erase_deleted_accounts"):
    out = StringIO()
    call_command(command, stdout=out)
    return out.getvalue()


def test_nothing_erased_within_the_grace(deleted, mfa_clock):
    user, _ = deleted
    mfa_clock.advance(7 * DAY - 60)
    assert "Erased 0 " in erase()
    user.refresh_from_db()
    assert (user.username, user.email, user.first_name) == ("ada", "ada@example.com", "Ada")
    assert user.has_usable_password()
    assert Authenticator.objects.filter(user=user).exists()


def test_personal_data_erased_after_the_grace_audit_keeps_the_username(deleted, mfa_clock):
    user, raw_key = deleted
    mfa_clock.advance(7 * DAY + 60)
    assert "Erased 1 " in erase()
    user.refresh_from_db()
    assert user.username == f"deleted:{user.pk}"
    assert (user.email, user.first_name, user.last_name) == ("", "", "")
    assert not user.has_usable_password()
    assert not user.is_active
    assert not Authenticator.objects.filter(user=user).exists()
    assert not DeviceSession.objects.filter(user=user).exists()
    key = ApiKey.objects.get()
    assert key.owner is None
    assert key.revoked_at is not None
    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(raw_key)
    # The audit trail: the events stay, with the username only.
    events = AuthEvent.objects.filter(user=user)
    assert events.filter(kind=AuthEvent.Kind.ACCOUNT_DELETION_REQUESTED).exists()
    assert set(events.values_list("username", flat=True)) == {"ada"}
    assert not events.exclude(ip_address=None).exists()
    assert not events.exclude(user_agent="").exists()
    assert events.filter(kind=AuthEvent.Kind.ACCOUNT_ERASED).exists()
    assert not User.objects.filter(username="ada").exists()
    # Done once: a second run finds nothing.
    assert "Erased 0 " in erase()


def test_grace_days_from_the_setting_and_flush_runs_it(deleted, mfa_clock, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "DELETION_GRACE_DAYS": 1}
    user, _ = deleted
    mfa_clock.advance(DAY + 60)
    assert "Erased 1 deleted account(s)" in erase("flush_expired_sessions")
    user.refresh_from_db()
    assert user.email == ""


def test_a_restored_account_is_not_erased(deleted, mfa_clock):
    user, _ = deleted
    user.is_active = True
    user.save()
    mfa_clock.advance(8 * DAY)
    assert "Erased 0 " in erase()
    user.refresh_from_db()
    assert user.email == "ada@example.com"
