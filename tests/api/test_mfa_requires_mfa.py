"""api.permissions.RequiresMFA: 403 `mfa_required_for_route` unless the caller signed in
with a second factor (the access token's amr, or the browser session's)."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.auth import SESSION_AMR_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.urls_requires_mfa")]

PAYOUTS = "/payouts/"
TOKEN_URL = "/api/v1/auth/token/"
MFA_URL = "/api/v1/auth/token/mfa/"


@pytest.fixture
def mfa_pair(user, password, totp_enrol, mfa_clock):
    """The token pair of a sign-in with password + TOTP code."""
    secret, _ = totp_enrol(user)
    body = {"username": user.username, "password": password, "device_id": "phone-1"}
    token = APIClient().post(TOKEN_URL, body, format="json").json()["mfa_token"]
    response = APIClient().post(
        MFA_URL, {"mfa_token": token, "code": mfa_clock.code(secret)}, format="json"
    )
    assert response.status_code == 200
    return response.json()


def test_a_password_only_token_is_refused(sign_in, bearer):
    access = sign_in().json()["access"]
    response = APIClient().post(PAYOUTS, **bearer(access))
    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required_for_route"


def test_a_token_of_a_sign_in_with_a_second_factor_passes(mfa_pair, bearer):
    response = APIClient().post(PAYOUTS, **bearer(mfa_pair["access"]))
    assert (response.status_code, response.json()) == (200, {"paid": True})


def test_a_refreshed_token_still_passes(mfa_pair, bearer, refresh):
    rotated = refresh(mfa_pair["refresh"], device_id="phone-1").json()
    assert APIClient().post(PAYOUTS, **bearer(rotated["access"])).status_code == 200


def test_anonymous_callers_get_401(api_client):
    response = api_client.post(PAYOUTS)
    assert (response.status_code, response.json().get("code")) == (401, "not_authenticated")


def _browser(user, amr=None):
    client = Client()
    client.force_login(user)
    if amr is not None:
        session = client.session
        session[SESSION_AMR_KEY] = amr
        session.save()
    client.cookies["csrftoken"] = "a" * 32
    return client


@pytest.mark.parametrize("amr", [None, ["pwd"]])
def test_a_page_session_without_a_second_factor_is_refused(user, amr):
    response = _browser(user, amr).post(PAYOUTS, HTTP_X_CSRFTOKEN="a" * 32)
    assert (response.status_code, response.json().get("code")) == (403, "mfa_required_for_route")


def test_a_page_session_signed_in_with_a_second_factor_passes(user):
    response = _browser(user, ["pwd", "otp", "mfa"]).post(PAYOUTS, HTTP_X_CSRFTOKEN="a" * 32)
    assert response.status_code == 200


def test_the_access_cookie_of_a_sign_in_with_a_second_factor_passes(
    browser, user, password, totp_enrol, mfa_clock
):
    secret, _ = totp_enrol(user)
    csrf = {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}
    body = {"username": user.username, "password": password}
    first = browser.post(
        "/api/v1/auth/cookie/login/", body, content_type="application/json", **csrf
    )
    assert browser.post(PAYOUTS, **csrf).status_code == 401  # no session yet
    second = {"mfa_token": first.json()["mfa_token"], "code": mfa_clock.code(secret)}
    response = browser.post(
        "/api/v1/auth/cookie/login/mfa/", second, content_type="application/json", **csrf
    )
    assert response.status_code == 200
    assert browser.post(PAYOUTS, **csrf).status_code == 200
