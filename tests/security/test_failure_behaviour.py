"""Failure behaviour: with the database down every API route and /healthz answer 503 JSON
(never a stack trace or an HTML page), and a crash between the steps of a sign-in or a
refresh leaves no half-made session.

"Database down" is a connection that refuses to connect (`ensure_connection` raising the
driver's OperationalError, as Django does for a closed port); the shared PostgreSQL
server is never stopped. The Redis-down behaviour is tested with accounts/revocation/state.py.
"""

from contextlib import contextmanager
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError, connection, transaction
from django.test import Client

from accounts.models import AuthEvent, DeviceSession
from tests.security.conftest import unverified_claims

pytestmark = pytest.mark.django_db

SERVICE_UNAVAILABLE = {
    "code": "service_unavailable",
    "detail": "The service is temporarily unavailable; try again shortly.",
}


@contextmanager
def database_down(error=OperationalError):
    message = 'connection to server at "127.0.0.1", port 1 failed: Connection refused'
    with mock.patch.object(connection, "ensure_connection", side_effect=error(message)):
        yield


@pytest.fixture
def http():
    """A client that gets the response a real client would (no re-raised exception)."""
    return Client(raise_request_exception=False)


def _assert_clean_503(response):
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json() == SERVICE_UNAVAILABLE
    assert b"Traceback" not in response.content
    assert b"127.0.0.1" not in response.content


def test_healthz_answers_503_json_when_the_database_refuses_connections(http):
    with database_down():
        response = http.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "error", "cache": "ok"}


@pytest.fixture
def credentials(sign_in, make_api_key):
    pair = sign_in(device_id="phone-1").json()
    _, raw_key = make_api_key(
        name="ops", scopes=["tokens:introspect", "users:read", "sessions:revoke"]
    )
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {pair['access']}"}
    key = {"HTTP_X_API_KEY": raw_key}
    return pair, bearer, key


def api_calls(pair, bearer, key, user):
    """(method, path, JSON body, headers) of every API route that reads the database."""
    v1 = "/api/v1"
    return [
        ("post", f"{v1}/auth/token/", {"username": user.username, "password": "x"}, {}),
        (
            "post",
            f"{v1}/auth/token/refresh/",
            {"refresh": pair["refresh"], "device_id": "phone-1"},
            {},
        ),
        ("post", f"{v1}/auth/token/verify/", {"token": pair["access"]}, {}),
        ("post", f"{v1}/auth/logout/", {}, bearer),
        ("post", f"{v1}/auth/logout/", {"refresh": pair["refresh"]}, {}),
        ("post", f"{v1}/auth/logout-all/", {}, bearer),
        ("get", f"{v1}/me/", None, bearer),
        ("get", f"{v1}/devices/", None, bearer),
        ("delete", f"{v1}/devices/{unverified_claims(pair['access'])['sid']}/", None, bearer),
        ("post", f"{v1}/auth/password/change/", {"old_password": "a", "new_password": "b"}, bearer),
        ("post", f"{v1}/auth/password/reset/", {"email": user.email}, {}),
        (
            "post",
            f"{v1}/auth/password/reset/confirm/",
            {"uid": "MQ", "token": "abc-def", "new_password": "a-long-new-passphrase"},
            {},
        ),
        (
            "post",
            f"{v1}/auth/signup/",
            {"username": "n", "email": "n@example.com", "password": "p"},
            {},
        ),
        ("get", f"{v1}/service/ping/", None, key),
        ("get", f"{v1}/service/users/{user.pk}/", None, key),
        ("post", f"{v1}/service/users/{user.pk}/revoke-sessions/", {}, key),
        ("post", f"{v1}/service/introspect/", {"token": pair["access"]}, key),
    ]


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_every_api_route_answers_503_json_when_the_database_is_down(
    http, credentials, user, settings, error
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True}
    # The production queue: reset and sign-up enqueue their e-mail task in the database.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    pair, bearer, key = credentials
    calls = api_calls(pair, bearer, key, user)
    with database_down(error):
        for method, path, body, headers in calls:
            kwargs = {"content_type": "application/json", "data": body} if body is not None else {}
            response = getattr(http, method)(path, **kwargs, **headers)
            _assert_clean_503(response)
    # The reset's task INSERT failed inside the test's own transaction, which marks it for
    # rollback; no statement reached the database (it was "down"), and a real request has
    # a transaction of its own, so the test's goes on.
    transaction.set_rollback(False)
    # Nothing changed while it was down: the session still works afterwards.
    assert http.get("/api/v1/me/", **bearer).status_code == 200


def test_a_failure_raised_in_a_middleware_is_503_json_on_the_api(http, credentials):
    """Outside DRF's views (here the session middleware, whose store is the database; a
    request with a cookie takes it, see config/middleware.py)."""
    _, bearer, _ = credentials
    down = OperationalError("the session store cannot be reached")
    with mock.patch(
        "django.contrib.sessions.middleware.SessionMiddleware.process_request", side_effect=down
    ):
        _assert_clean_503(http.get("/api/v1/me/", HTTP_COOKIE="sessionid=abc", **bearer))
        health = http.get("/healthz")
        page = http.get("/accounts/login/")
    assert health.status_code == 503
    assert health.json() == {"status": "error", "database": "error"}
    # An HTML page gets the plain error page, never a stack trace.
    assert page.status_code == 500
    assert b"Traceback" not in page.content
    assert b"session store" not in page.content


def test_an_unexpected_crash_on_the_api_is_500_json(http, credentials):
    _, bearer, _ = credentials
    with mock.patch("api.views.me.get_profile", side_effect=RuntimeError("boom")):
        response = http.get("/api/v1/me/", **bearer)
    assert response.status_code == 500
    assert response.json() == {
        "code": "server_error",
        "detail": "Something went wrong on our side.",
    }
    assert b"boom" not in response.content


# --- a crash between the steps of a sign-in or a refresh ----------------------------------


def _crash_on_issue(*args, **kwargs):
    raise RuntimeError("crash after the session row was written")


def test_crash_during_sign_in_leaves_no_session_and_keeps_the_replaced_one(
    http, sign_in, user, password
):
    """The session row is written, then issuing the pair crashes: nothing stays, and the
    earlier session of the same device (which the sign-in was replacing) is still live."""
    earlier = sign_in(device_id="phone-1").json()
    with mock.patch("accounts.devices.sessions.issue_pair", side_effect=_crash_on_issue):
        response = http.post(
            "/api/v1/auth/token/",
            {"username": user.username, "password": password, "device_id": "phone-1"},
            content_type="application/json",
        )
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert DeviceSession.objects.count() == 1
    assert DeviceSession.objects.get().revoked_at is None
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_SUCCEEDED).count() == 1
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.SESSION_REVOKED).exists()
    me = http.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {earlier['access']}")
    assert me.status_code == 200


_ROTATED_FIELDS = (
    "refresh_jti",
    "previous_refresh_jti",
    "rotated_at",
    "last_used_at",
    "refresh_expires_at",
    "revoked_at",
)


def test_crash_during_refresh_keeps_the_old_refresh_token_current(http, sign_in):
    """Issuing the new pair crashes: the rotation was not written, so the app's retry with
    its old refresh token works (no reuse alarm), and the failed exchange did not lengthen
    the session."""
    pair = sign_in(device_id="phone-1").json()
    before = DeviceSession.objects.values(*_ROTATED_FIELDS).get()
    body = {"refresh": pair["refresh"], "device_id": "phone-1"}

    with mock.patch("accounts.devices.sessions.issue_pair", side_effect=_crash_on_issue):
        crashed = http.post("/api/v1/auth/token/refresh/", body, content_type="application/json")
    assert crashed.status_code == 500
    assert crashed.json()["code"] == "server_error"
    assert DeviceSession.objects.values(*_ROTATED_FIELDS).get() == before

    retry = http.post("/api/v1/auth/token/refresh/", body, content_type="application/json")
    assert retry.status_code == 200
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.REFRESH_REUSED).exists()


def test_database_failure_while_rotating_keeps_the_old_refresh_token_current(http, sign_in):
    """The session was read and the pair issued, then writing the rotation fails: 503, and
    the retry with the same refresh token works."""
    pair = sign_in(device_id="phone-1").json()
    before = DeviceSession.objects.values(*_ROTATED_FIELDS).get()
    body = {"refresh": pair["refresh"], "device_id": "phone-1"}

    with mock.patch(
        "django.db.models.QuerySet.update", side_effect=OperationalError("server closed")
    ):
        failed = http.post("/api/v1/auth/token/refresh/", body, content_type="application/json")
    assert failed.status_code == 503
    assert failed.json() == SERVICE_UNAVAILABLE
    assert DeviceSession.objects.values(*_ROTATED_FIELDS).get() == before

    retry = http.post("/api/v1/auth/token/refresh/", body, content_type="application/json")
    assert retry.status_code == 200
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.REFRESH_REUSED).exists()


def test_crash_during_sign_in_at_the_device_limit_evicts_nobody(
    http, sign_in, user, password, settings
):
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "MAX_DEVICES": 1,
        "DEVICE_LIMIT_POLICY": "evict_oldest",
    }
    sign_in(device_id="phone-1")
    with mock.patch("accounts.devices.sessions.issue_pair", side_effect=_crash_on_issue):
        response = http.post(
            "/api/v1/auth/token/",
            {"username": user.username, "password": password, "device_id": "laptop"},
            content_type="application/json",
        )
    assert response.status_code == 500
    assert list(DeviceSession.objects.values_list("device_id", "revoked_at")) == [("phone-1", None)]
