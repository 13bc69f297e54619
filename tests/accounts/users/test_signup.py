from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from accounts.users import signup
from accounts.users.signup import USERNAME_TAKEN, sign_up

NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.fixture
def request_():
    return RequestFactory().post("/accounts/signup/")


@pytest.mark.django_db
def test_sign_up_creates_an_active_user_with_a_hashed_password(request_, mailoutbox):
    sign_up(username="grace", email="grace@EXAMPLE.com", password=NEW_PASSWORD, request=request_)
    user = get_user_model().objects.get(username="grace")
    assert user.is_active
    assert user.email == "grace@example.com"
    assert user.password != NEW_PASSWORD
    assert user.check_password(NEW_PASSWORD)
    assert [mail.to for mail in mailoutbox] == [["grace@example.com"]]
    # A verification e-mail (tests/accounts/users/test_email_verification.py), not a welcome.
    assert "Confirm your e-mail address" in mailoutbox[0].subject


@pytest.mark.django_db
def test_sign_up_refuses_a_password_like_the_username(request_):
    with pytest.raises(ValidationError) as excinfo:
        sign_up(
            username="grace-hopper",
            email="g@example.com",
            password="grace-hopper1",
            request=request_,
        )
    assert list(excinfo.value.message_dict) == ["password"]
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_a_registered_address_gets_a_mail_and_no_account(make_user, request_, mailoutbox):
    owner = make_user(username="other", email="grace@example.com")
    sign_up(username="grace", email="GRACE@example.com", password=NEW_PASSWORD, request=request_)
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["other"]
    assert [mail.to for mail in mailoutbox] == [[owner.email]]
    assert "already have" in mailoutbox[0].subject


@pytest.mark.django_db
def test_losing_a_race_for_the_address_is_a_sign_up_for_a_registered_one(
    make_user, request_, mailoutbox
):
    """Two sign-ups for one address at once: both pass the checks, the database constraint
    decides, and the loser is treated as if it had come second: no error (which would
    tell), the owner gets the "you already have an account" mail."""
    make_user(username="other", email="grace@example.com")
    # The first check ran before the winner committed, so it found nothing.
    with mock.patch.object(signup, "_registered", side_effect=[False, True]):
        signup.sign_up(
            username="grace", email="Grace@example.com", password=NEW_PASSWORD, request=request_
        )
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["other"]
    assert [mail.to for mail in mailoutbox] == [["grace@example.com"]]
    assert "already have" in mailoutbox[0].subject


@pytest.mark.django_db
def test_losing_a_race_for_the_username_is_a_field_error(make_user, request_):
    make_user(username="Grace", email="someone@example.com")
    checks_after_the_race = signup.signup_errors(
        username="grace", email="grace@example.com", password=NEW_PASSWORD
    )
    with (
        mock.patch.object(signup, "signup_errors", side_effect=[{}, checks_after_the_race]),
        pytest.raises(ValidationError) as excinfo,
    ):
        signup.sign_up(
            username="grace", email="grace@example.com", password=NEW_PASSWORD, request=request_
        )
    assert excinfo.value.message_dict == {"username": [USERNAME_TAKEN]}
    assert get_user_model().objects.count() == 1
