import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from accounts.users.passwords import (
    INVALID_RESET_LINK,
    change_password,
    reset_link_context,
    reset_password,
    send_password_reset,
    user_from_reset_link,
)

NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.fixture
def request_without_session():
    from django.contrib.sessions.backends.db import SessionStore

    request = RequestFactory().post("/")
    request.session = SessionStore()
    return request


@pytest.mark.django_db
def test_change_for_a_caller_without_a_browser_session_creates_none(user, request_without_session):
    change_password(user=user, new_password=NEW_PASSWORD, request=request_without_session)
    assert get_user_model().objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_change_refuses_a_password_similar_to_the_username(make_user, request_without_session):
    user = make_user(username="margaret-hamilton")
    with pytest.raises(ValidationError) as excinfo:
        change_password(
            user=user, new_password="margaret-hamilton", request=request_without_session
        )
    assert list(excinfo.value.message_dict) == ["new_password"]


@pytest.mark.django_db
def test_reset_link_dies_with_the_password_it_was_made_for(user, request_without_session):
    link = reset_link_context(user)
    assert user_from_reset_link(link["uid"], link["token"]) == user
    reset_password(
        uidb64=link["uid"],
        token=link["token"],
        new_password=NEW_PASSWORD,
        request=request_without_session,
    )
    assert user_from_reset_link(link["uid"], link["token"]) is None
    with pytest.raises(ValidationError) as excinfo:
        reset_password(
            uidb64=link["uid"],
            token=link["token"],
            new_password="another-pass-77",
            request=request_without_session,
        )
    assert excinfo.value.message_dict == {"token": [INVALID_RESET_LINK]}


@pytest.mark.django_db
def test_no_reset_link_for_an_inactive_user(make_user):
    user = make_user(is_active=False)
    link = reset_link_context(user)
    assert user_from_reset_link(link["uid"], link["token"]) is None


@pytest.mark.django_db
def test_no_reset_mail_for_a_user_without_a_usable_password(make_user, mailoutbox):
    user = make_user(email="sso@example.com")
    user.set_unusable_password()
    user.save()
    send_password_reset(email="sso@example.com", request=RequestFactory().get("/"))
    assert mailoutbox == []
