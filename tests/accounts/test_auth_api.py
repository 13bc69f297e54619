"""accounts.auth: the one Python API over the Django session and JWT device sessions,
with regression tests for Duck's faults (unchecked user_id, inactive users accepted,
session fixation, cosmetic JWT logout, three distinguishable errors)."""

import json
import threading

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import AsyncClient

from accounts import auth
from accounts.devices import sessions
from accounts.devices.tokens import decode_access
from accounts.models import DeviceSession
from api.authentication import ClaimsUser
from tests.accounts import auth_api_urls

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_request(rf):
    """A request as the middleware leaves it: a session, the client address."""

    def make(path="/", **headers):
        request = rf.post(path, **headers)
        SessionMiddleware(lambda r: HttpResponse()).process_request(request)
        request.client_ip = "127.0.0.1"
        request.user = AnonymousUser()
        return request

    return make


# --- authenticate -----------------------------------------------------------------------


def test_authenticate_returns_the_user(make_request, user, password):
    assert auth.authenticate(make_request(), user.username, password) == user
    assert auth.authenticate(make_request(), user.email.upper(), password) == user


def test_one_error_for_unknown_inactive_and_wrong(make_request, user, password, make_user):
    inactive = make_user(is_active=False)
    errors = []
    for username, secret in (("nobody", password), (inactive.username, password), (user, "x")):
        with pytest.raises(auth.AuthenticationError) as caught:
            auth.authenticate(make_request(), str(username), secret)
        errors.append((type(caught.value), str(caught.value.detail)))
    assert len(set(errors)) == 1
    assert errors[0][0] is auth.AuthenticationError


def test_authenticate_is_behind_the_lockout(make_request, user, password, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 2}
    for _ in range(2):
        with pytest.raises(auth.AuthenticationError):
            auth.authenticate(make_request(), user.username, "wrong")
    with pytest.raises(auth.LockedOutError) as caught:
        auth.authenticate(make_request(), user.username, password)  # even the right one
    assert caught.value.retry_after > 0
    assert isinstance(caught.value, auth.AuthenticationError)


# --- login: arguments -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"user_id": True},
        {"user_id": False},
        {"user_id": ""},
        {"user_id": "   "},
        {"user_id": 999_999},
        {"user_id": "anything"},
        {"user_id": 3.5},
        {"user_id": ["1"]},
    ],
    ids=repr,
)
def test_login_refuses_bad_arguments(make_request, user, kwargs):
    request = make_request()
    with pytest.raises(auth.AuthenticationError):
        auth.login(request, **kwargs)
    assert SESSION_KEY not in request.session
    assert not DeviceSession.objects.exists()


def test_login_refuses_user_and_user_id_together(make_request, user):
    with pytest.raises(auth.AuthenticationError):
        auth.login(make_request(), user, user_id=user.pk)


def test_login_refuses_unsaved_and_inactive_users(make_request, make_user):
    from accounts.models import User

    with pytest.raises(auth.AuthenticationError):
        auth.login(make_request(), User(username="unsaved"))
    inactive = make_user(is_active=False)
    for kwargs in ({"user": inactive}, {"user_id": inactive.pk}):
        with pytest.raises(auth.AuthenticationError):
            auth.login(make_request(), **kwargs)


def test_unknown_backend_is_a_value_error_naming_the_supported_ones(make_request, user, settings):
    with pytest.raises(ValueError, match="'session', 'jwt'"):
        auth.login(make_request(), user, backend="cookie")
    settings.ACCOUNTS = {**settings.ACCOUNTS, "DEFAULT_AUTH_BACKEND": "ldap"}
    for call in (auth.logout, auth.get_user_id, auth.get_user):
        with pytest.raises(ValueError, match="'ldap'"):
            call(make_request())


# --- session backend --------------------------------------------------------------------


def test_session_login_cycles_the_key_and_sets_the_auth_hash(make_request, user):
    request = make_request()
    request.session["before"] = "x"
    request.session.save()
    old_key = request.session.session_key

    assert auth.login(request, user_id=str(user.pk)) is None

    assert request.session.session_key != old_key  # no session fixation
    assert request.session[SESSION_KEY] == str(user.pk)
    assert request.session["_auth_user_hash"] == user.get_session_auth_hash()
    assert auth.get_user_id(request) == user.pk
    assert auth.get_user(request) == user


def test_session_logout_flushes(make_request, user):
    request = make_request()
    auth.login(request, user)
    request.session.save()
    key = request.session.session_key
    auth.logout(request)
    assert request.session.session_key != key
    assert SESSION_KEY not in request.session
    assert auth.get_user_id(request) is None
    assert isinstance(auth.get_user(request), AnonymousUser)


def test_session_ends_when_sessions_are_revoked(make_request, user):
    request = make_request()
    auth.login(request, user)
    sessions.revoke_all_sessions(user, reason=DeviceSession.RevokeReason.LOGOUT_ALL)
    assert auth.get_user_id(request) is None


def test_html_login_page_uses_the_session_backend(client, user, password):
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": user.username, "password": password})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)


# --- jwt backend ------------------------------------------------------------------------


def test_jwt_login_opens_a_device_session(make_request, user, api_client, bearer):
    device, pair = auth.login(make_request(), user, backend="jwt", device_id="laptop")
    assert device.device_id == "laptop"
    assert decode_access(pair.access).session_id == device.pk
    assert api_client.get("/api/v1/me/", **bearer(pair.access)).status_code == 200


def test_default_backend_comes_from_settings(make_request, user, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "DEFAULT_AUTH_BACKEND": "jwt"}
    result = auth.login(make_request(), user)
    assert isinstance(result, auth.DeviceLogin)
    assert DeviceSession.objects.filter(revoked_at__isnull=True).count() == 1


def test_jwt_identity_and_logout_revoke_on_the_server(make_request, user, api_client, bearer):
    _, pair = auth.login(make_request(), user, backend="jwt")
    request = make_request(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    assert auth.get_user_id(request, backend="jwt") == user.pk
    claims_user = auth.get_user(request, backend="jwt")
    assert isinstance(claims_user, ClaimsUser)
    assert claims_user.username == user.username

    auth.logout(request, backend="jwt")

    assert DeviceSession.objects.get().revoke_reason == "logout"
    # Not cosmetic (Duck): the same token is refused everywhere now.
    assert auth.get_user_id(request, backend="jwt") is None
    response = api_client.get("/api/v1/me/", **bearer(pair.access))
    assert response.json()["code"] == "session_revoked"


def test_jwt_get_user_refuses_bad_tokens(make_request):
    for header in ("Bearer garbage", "Bearer", "Basic abc"):
        request = make_request(HTTP_AUTHORIZATION=header)
        assert auth.get_user_id(request, backend="jwt") is None
        assert isinstance(auth.get_user(request, backend="jwt"), AnonymousUser)


def test_jwt_login_with_a_response_sets_the_cookies(make_request, user):
    response = HttpResponse()
    device, pair = auth.login(make_request(), user, backend="jwt", response=response)
    assert response.cookies["access_token"].value == pair.access
    assert response.cookies["refresh_token"].value == pair.refresh
    assert response.cookies["device_id"].value == device.device_id
    assert response.cookies["access_token"]["httponly"]

    request = make_request()
    request.COOKIES = {k: m.value for k, m in response.cookies.items()}
    assert auth.get_user_id(request, backend="jwt") == user.pk
    out = HttpResponse()
    auth.logout(request, backend="jwt", response=out)
    assert out.cookies["access_token"]["max-age"] == 0
    assert not DeviceSession.objects.filter(revoked_at__isnull=True).exists()


# --- async twins under the ASGI handler -------------------------------------------------


@pytest.fixture
def async_site(settings):
    settings.ROOT_URLCONF = "tests.accounts.auth_api_urls"
    auth_api_urls.LOOP_THREADS.clear()
    return AsyncClient()


def _call(client, method, path, body=None):
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body else {}
    return async_to_sync(getattr(client, method))(path, **kwargs)


def test_async_session_sign_in_and_out(async_site, user, password):
    response = _call(
        async_site, "post", "/async/login/", {"username": user.username, "password": password}
    )
    assert response.status_code == 200
    assert response.json() == {"id": user.pk}
    assert _call(async_site, "get", "/async/me/").json() == {"id": user.pk, "authenticated": True}
    _call(async_site, "post", "/async/logout/")
    assert _call(async_site, "get", "/async/me/").json()["authenticated"] is False


def test_async_wrong_password(async_site, user):
    response = _call(
        async_site, "post", "/async/login/", {"username": user.username, "password": "no"}
    )
    assert response.status_code == 401
    assert response.json() == {"code": "invalid_credentials"}


def test_async_jwt_sign_in_runs_the_orm_off_the_event_loop(async_site, user, password, monkeypatch):
    orm_threads = []
    real_sign_in = sessions.sign_in

    def recording_sign_in(**kwargs):
        orm_threads.append(threading.get_ident())
        return real_sign_in(**kwargs)

    monkeypatch.setattr(sessions, "sign_in", recording_sign_in)
    response = _call(
        async_site,
        "post",
        "/async/login/",
        {"username": user.username, "password": password, "backend": "jwt"},
    )
    assert response.status_code == 200
    access = response.json()["access"]
    assert orm_threads
    assert orm_threads[0] != auth_api_urls.LOOP_THREADS[0]

    me = async_to_sync(async_site.get)(
        "/async/me/", {"backend": "jwt"}, headers={"Authorization": f"Bearer {access}"}
    )
    assert me.json() == {"id": user.pk, "authenticated": True}


def test_a_claims_user_can_be_signed_into_a_browser_session(make_request, user):
    _, pair = auth.login(make_request(), user, backend="jwt")
    request = make_request(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    claims_user = auth.get_user(request, backend="jwt")
    auth.login(request, claims_user, backend="session")
    assert auth.get_user(request) == user
    user.refresh_from_db()
    assert user.last_login is not None
