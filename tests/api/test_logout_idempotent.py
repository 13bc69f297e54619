"""Logout is idempotent, as the contract says ("204, also when the session was already
revoked"), for every way a caller names its session; a token the kit did not sign is still
refused (docs/clients.md, "Logout")."""

import jwt
import pytest
from django.conf import settings
from django.test import Client

from accounts.devices.sessions import revoke_session
from accounts.models import AuthEvent, DeviceSession

LOGOUT_URL = "/api/v1/auth/logout/"
COOKIE_LOGIN_URL = "/api/v1/auth/cookie/login/"
COOKIE_LOGOUT_URL = "/api/v1/auth/cookie/logout/"
CSRF_URL = "/api/v1/auth/csrf/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def ended_pair(sign_in, api_client, bearer):
    """The tokens of a device session its user has already signed out (from another
    device's list)."""
    pair = sign_in(device_id="old-phone").json()
    other = sign_in(device_id="new-phone").json()
    response = api_client.delete(
        f"/api/v1/devices/{pair['device']['id']}/", **bearer(other["access"])
    )
    assert response.status_code == 204
    return pair


def test_bearer_logout_of_an_ended_session_is_204(ended_pair, api_client, bearer):
    events = AuthEvent.objects.count()
    response = api_client.post(LOGOUT_URL, **bearer(ended_pair["access"]))
    assert response.status_code == 204, response.content
    assert AuthEvent.objects.count() == events  # nothing more happened
    # Twice is the same.
    assert api_client.post(LOGOUT_URL, **bearer(ended_pair["access"])).status_code == 204


def test_bearer_logout_twice_is_204_and_revokes_once(sign_in, api_client, bearer):
    pair = sign_in().json()
    for _ in range(2):
        assert api_client.post(LOGOUT_URL, **bearer(pair["access"])).status_code == 204
    assert DeviceSession.objects.get().revoke_reason == "logout"
    assert AuthEvent.objects.filter(kind="logout").count() == 1


def test_refresh_logout_of_an_ended_session_is_204(ended_pair, api_client):
    response = api_client.post(LOGOUT_URL, {"refresh": ended_pair["refresh"]}, format="json")
    assert response.status_code == 204


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        # Well formed, the right claims, but not signed with the kit's key.
        jwt.encode(
            {"token_type": "access", "sub": "1", "sid": "x", "exp": 4102444800, "jti": "j"},
            "not-the-kit-key-" + "x" * 32,
            algorithm="HS256",
        ),
    ],
)
def test_logout_with_a_token_the_kit_did_not_sign_is_token_invalid(
    ended_pair, api_client, bearer, token
):
    response = api_client.post(LOGOUT_URL, **bearer(token))
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    response = api_client.post(LOGOUT_URL, {"refresh": token}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_an_expired_token_of_an_ended_session_is_token_invalid(ended_pair, api_client, bearer):
    """Expiry is checked as for any request: an app whose access token expired signs out
    with its refresh token."""
    claims = jwt.decode(ended_pair["access"], options={"verify_signature": False})
    claims["exp"] = claims["iat"] - 3600
    expired = jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    response = api_client.post(LOGOUT_URL, **bearer(expired))
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


@pytest.fixture
def browser_of_an_ended_session(user, password, sign_in):
    """A browser signed in with the cookie transport whose session was then revoked."""
    browser = Client(enforce_csrf_checks=True)
    browser.get(CSRF_URL)
    csrf = {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}
    response = browser.post(
        COOKIE_LOGIN_URL,
        {"username": user.username, "password": password},
        content_type="application/json",
        **csrf,
    )
    assert response.status_code == 200
    revoke_session(
        DeviceSession.objects.select_related("user").get(), reason=DeviceSession.RevokeReason.USER
    )
    return browser, csrf


@pytest.mark.parametrize("url", [LOGOUT_URL, COOKIE_LOGOUT_URL])
def test_cookie_logout_of_an_ended_session_is_204(browser_of_an_ended_session, url):
    browser, csrf = browser_of_an_ended_session
    response = browser.post(url, content_type="application/json", **csrf)
    assert response.status_code == 204, response.content


def test_cookie_logout_still_needs_csrf(browser_of_an_ended_session):
    browser, _ = browser_of_an_ended_session
    for url in (LOGOUT_URL, COOKIE_LOGOUT_URL):
        response = browser.post(url, content_type="application/json")
        assert response.status_code == 403
        assert response.json()["code"] == "csrf_failed"
