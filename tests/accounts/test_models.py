import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError

from tests.factories import UserFactory


@pytest.mark.django_db
def test_email_is_unique_whatever_its_case():
    UserFactory(email="Ada@Example.com")
    with pytest.raises(IntegrityError):
        UserFactory(email="ada@example.COM")


@pytest.mark.django_db
def test_sign_in_with_username_or_email(password):
    user = UserFactory(username="ada", email="ada@example.com")
    assert authenticate(username="ada", password=password) == user
    assert authenticate(username="ADA@example.com", password=password) == user
    assert authenticate(username="ada", password="wrong") is None


@pytest.mark.django_db
def test_sessions_version_changes_session_auth_hash():
    user = UserFactory()
    before = user.get_session_auth_hash()
    user.sessions_version += 1
    assert user.get_session_auth_hash() != before


@pytest.mark.django_db
def test_saving_a_stale_user_object_never_undoes_a_sign_out_everywhere():
    from accounts.devices.sessions import revoke_all_sessions
    from accounts.models import DeviceSession

    user = UserFactory()
    stale = type(user).objects.get(pk=user.pk)
    revoke_all_sessions(user, reason=DeviceSession.RevokeReason.LOGOUT_ALL)
    stale.first_name = "Ada"
    stale.save()
    user.refresh_from_db()
    assert user.sessions_version == 1
    assert user.first_name == "Ada"
