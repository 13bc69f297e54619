from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from accounts.services import signup
from accounts.services.signup import EMAIL_TAKEN, sign_up

NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.mark.django_db
def test_sign_up_creates_an_active_user_with_a_hashed_password():
    user = sign_up(username="grace", email="grace@EXAMPLE.com", password=NEW_PASSWORD, request=None)
    assert user.is_active
    assert user.email == "grace@example.com"
    assert user.password != NEW_PASSWORD
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_sign_up_refuses_a_password_like_the_username():
    with pytest.raises(ValidationError) as excinfo:
        sign_up(
            username="grace-hopper", email="g@example.com", password="grace-hopper1", request=None
        )
    assert list(excinfo.value.message_dict) == ["password"]
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_losing_a_race_for_the_address_is_a_field_error(make_user):
    """Two sign-ups for one address at once: both pass the checks, the database constraint
    decides, and the loser gets the same field error as if it had come second."""
    make_user(username="other", email="grace@example.com")
    checks_after_the_race = signup.signup_errors(
        username="grace", email="Grace@example.com", password=NEW_PASSWORD
    )
    # The first check ran before the winner committed, so it found nothing.
    with (
        mock.patch.object(signup, "signup_errors", side_effect=[{}, checks_after_the_race]),
        pytest.raises(ValidationError) as excinfo,
    ):
        signup.sign_up(
            username="grace", email="Grace@example.com", password=NEW_PASSWORD, request=None
        )
    assert excinfo.value.message_dict == {"email": [EMAIL_TAKEN]}
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["other"]
