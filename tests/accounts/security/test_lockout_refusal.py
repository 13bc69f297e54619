"""The lockout travels as one domain error (accounts.errors.LockedOut): every sign-in and
password check behind it answers 429 with Retry-After and the lockout message, on the
HTML pages (LockoutMiddleware) and on the API (api/exceptions.py)."""

import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import auth, errors
from accounts.security import lockout
from accounts.web.forms import LockoutPasswordChangeForm

LIMIT = 2
LOCKOUT_SECONDS = 600
MESSAGE = "Too many failed sign-in attempts. Try again in 10 minutes."

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _lockout_settings(settings):
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "LOGIN_FAILURE_LIMIT": LIMIT,
        "LOCKOUT_SECONDS": LOCKOUT_SECONDS,
    }
    settings.TRUSTED_PROXIES = []


@pytest.fixture(autouse=True)
def _still_clock(monkeypatch):
    """The lockout's clock stands still, so Retry-After is the whole lockout however slow
    the machine."""
    now = time.time()
    monkeypatch.setattr(lockout, "_now", lambda: now)


def test_the_html_login_shows_the_lockout_message_with_429(user, password):
    client = Client()
    for _ in range(LIMIT):
        client.post("/accounts/login/", {"username": user.username, "password": "wrong"})

    response = client.post("/accounts/login/", {"username": user.username, "password": password})

    assert response.status_code == 429
    assert response["Retry-After"] == str(LOCKOUT_SECONDS)
    assert MESSAGE in response.text
    assert "_auth_user_id" not in client.session


def test_the_html_password_change_shows_the_lockout_message_with_429(user, password):
    client = Client()
    client.force_login(user)
    new = "n3w-Pass!word-9"
    form = {"old_password": "wrong", "new_password1": new, "new_password2": new}
    for _ in range(LIMIT):
        assert client.post("/accounts/password_change/", form).status_code == 200

    response = client.post("/accounts/password_change/", {**form, "old_password": password})

    assert response.status_code == 429
    assert response["Retry-After"] == str(LOCKOUT_SECONDS)
    assert MESSAGE in response.text
    user.refresh_from_db()
    assert user.check_password(password)


def test_the_api_password_change_answers_too_many_attempts(user, password):
    client = APIClient()
    client.force_authenticate(user)
    new = "n3w-Pass!word-9"
    for _ in range(LIMIT):
        wrong = {"old_password": "wrong", "new_password": new}
        response = client.post("/api/v1/auth/password/change/", wrong, format="json")
        assert response.status_code == 400

    right = {"old_password": password, "new_password": new}
    response = client.post("/api/v1/auth/password/change/", right, format="json")

    assert response.status_code == 429
    assert response["Retry-After"] == str(LOCKOUT_SECONDS)
    assert response.json() == {"code": "too_many_attempts", "detail": MESSAGE}
    user.refresh_from_db()
    assert user.check_password(password)


def test_the_python_api_raises_the_domain_errors(rf, user, password):
    """accounts.auth raises accounts.errors' classes; its documented names are them."""
    assert auth.AuthenticationError is errors.InvalidCredentials
    assert auth.LockedOutError is errors.LockedOut
    for _ in range(LIMIT):
        with pytest.raises(errors.InvalidCredentials) as wrong:
            auth.authenticate(rf.post("/"), user.username, "wrong")
        assert type(wrong.value) is errors.InvalidCredentials
        assert wrong.value.code == "invalid_credentials"

    with pytest.raises(errors.LockedOut) as locked:
        auth.authenticate(rf.post("/"), user.username, password)

    assert (locked.value.code, locked.value.retry_after) == ("too_many_attempts", LOCKOUT_SECONDS)
    assert locked.value.detail == MESSAGE


def test_a_refusal_is_read_from_the_request_the_sign_in_was_given(rf, user, password):
    """The mark is the lockout module's own: none after a plain wrong password, the
    LockedOut once locked."""
    from django.contrib.auth import authenticate

    request = rf.post("/")
    assert authenticate(request, username=user.username, password="wrong") is None
    assert lockout.lockout_refusal(request) is None
    authenticate(rf.post("/"), username=user.username, password="wrong")

    request = rf.post("/")
    assert authenticate(request, username=user.username, password=password) is None

    refusal = lockout.lockout_refusal(request)
    assert isinstance(refusal, errors.LockedOut)
    assert refusal.retry_after == LOCKOUT_SECONDS


def test_a_password_change_form_built_without_the_request_shows_the_lockout(user, password):
    """A project's view that builds the form without `request=`: a locked account gets the
    lockout message as a form error, not a 500."""
    new = "n3w-Pass!word-9"
    data = {"new_password1": new, "new_password2": new}
    for _ in range(LIMIT):
        assert not LockoutPasswordChangeForm(user, {**data, "old_password": "wrong"}).is_valid()

    form = LockoutPasswordChangeForm(user, {**data, "old_password": password})

    assert not form.is_valid()
    assert form.errors["old_password"] == [MESSAGE]
