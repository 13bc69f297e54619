"""accounts.auth.login's `amr`: kept by the device session and its tokens, or by the
browser session."""

import pytest
from asgiref.sync import async_to_sync
from django.test import RequestFactory

from accounts import auth
from accounts.devices.tokens import decode_access

pytestmark = pytest.mark.django_db


def _request():
    from django.contrib.sessions.backends.db import SessionStore

    request = RequestFactory().post("/")
    request.session = SessionStore()
    return request


def test_jwt_login_carries_amr_into_the_session_and_token(user):
    device, pair = auth.login(_request(), user, backend="jwt", amr=["pwd", "otp", "mfa"])
    device.refresh_from_db()
    assert device.amr == ["pwd", "otp", "mfa"]
    assert decode_access(pair.access)["amr"] == ["pwd", "otp", "mfa"]


def test_jwt_login_defaults_to_pwd(user):
    _, pair = auth.login(_request(), user, backend="jwt")
    assert decode_access(pair.access)["amr"] == ["pwd"]


def test_session_login_keeps_amr_in_the_browser_session(user):
    request = _request()
    auth.login(request, user, backend="session", amr=["pwd", "otp", "mfa"])
    assert auth.session_amr(request) == ["pwd", "otp", "mfa"]


@pytest.mark.django_db(transaction=True)
def test_alogin_takes_amr(user):
    _, pair = async_to_sync(auth.alogin)(
        _request(), user, backend="jwt", amr=["hwk", "user", "mfa"]
    )
    assert decode_access(pair.access)["amr"] == ["hwk", "user", "mfa"]
