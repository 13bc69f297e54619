"""Enrolment routes of the signed-in user: GET /mfa/, TOTP set-up and confirmation (the
recovery codes of a first factor, shown once), TOTP removal and new recovery codes (each
with a current code), every change audited and mailed."""

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from rest_framework.test import APIClient

from accounts.conf import kit_settings
from accounts.models import AuthEvent, MfaChallenge

pytestmark = pytest.mark.django_db

STATUS_URL = "/api/v1/mfa/"
TOTP_URL = "/api/v1/mfa/totp/"
CONFIRM_URL = "/api/v1/mfa/totp/confirm/"
RECOVERY_URL = "/api/v1/mfa/recovery-codes/"
TOKEN_URL = "/api/v1/auth/token/"
MFA_URL = "/api/v1/auth/token/mfa/"


@pytest.fixture
def me(sign_in, mfa_clock):
    """An APIClient signed in as `user` with a Bearer token (password only)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in().json()['access']}")
    return client


@pytest.fixture
def mailed(django_capture_on_commit_callbacks):
    """Run a call with the after-commit callbacks (the e-mail tasks) executed."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def _subjects(user):
    return [m.subject for m in mail.outbox if m.to == [user.email]]


def test_a_user_without_factors(me):
    response = me.get(STATUS_URL)
    assert response.status_code == 200
    assert response.json() == {"totp": False, "recovery_codes_left": 0, "passkeys": []}


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", STATUS_URL),
        ("post", TOTP_URL),
        ("delete", TOTP_URL),
        ("post", CONFIRM_URL),
        ("post", RECOVERY_URL),
    ],
)
def test_the_routes_need_a_signed_in_user(api_client, method, url):
    response = getattr(api_client, method)(url, {"code": "123456"}, format="json")
    assert (response.status_code, response.json().get("code")) == (401, "not_authenticated")


def test_totp_set_up_hands_out_a_secret_kept_encrypted_until_confirmed(me, user):
    response = me.post(TOTP_URL)
    assert response.status_code == 200
    secret, uri = response.json()["secret"], response.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/")
    assert f"secret={secret}" in uri
    assert "issuer=Kit" in uri
    pending = MfaChallenge.objects.get(user=user, kind=MfaChallenge.Kind.TOTP_SETUP)
    assert secret not in str(pending.data)
    assert not Authenticator.objects.filter(user=user).exists()
    assert me.get(STATUS_URL).json()["totp"] is False


def test_a_wrong_confirmation_code_is_invalid(me, mfa_clock):
    secret = me.post(TOTP_URL).json()["secret"]
    response = me.post(CONFIRM_URL, {"code": mfa_clock.code(secret, steps=2)}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "code" in response.json()["errors"]
    assert me.get(STATUS_URL).json()["totp"] is False


def test_confirmation_without_a_pending_secret_is_invalid(me):
    response = me.post(CONFIRM_URL, {"code": "123456"}, format="json")
    assert (response.status_code, response.json().get("code")) == (400, "invalid")


def test_a_pending_secret_expires(me, mfa_clock):
    secret = me.post(TOTP_URL).json()["secret"]
    mfa_clock.advance(901)
    response = me.post(CONFIRM_URL, {"code": mfa_clock.code(secret)}, format="json")
    assert (response.status_code, response.json().get("code")) == (400, "invalid")


def test_a_new_set_up_voids_the_earlier_secret(me, mfa_clock):
    first = me.post(TOTP_URL).json()["secret"]
    second = me.post(TOTP_URL).json()["secret"]
    refused = me.post(CONFIRM_URL, {"code": mfa_clock.code(first)}, format="json")
    assert refused.status_code == 400
    assert me.post(CONFIRM_URL, {"code": mfa_clock.code(second)}, format="json").status_code == 200


def test_confirmation_turns_totp_on_with_recovery_codes_shown_once(
    me, user, password, mfa_clock, mailed, mfa_client
):
    secret = me.post(TOTP_URL).json()["secret"]
    code = mfa_clock.code(secret)
    response = mailed(lambda: me.post(CONFIRM_URL, {"code": code}, format="json"))
    assert response.status_code == 200, response.content
    codes = response.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert me.get(STATUS_URL).json() == {"totp": True, "recovery_codes_left": 10, "passkeys": []}
    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    assert secret not in str(stored.data)
    added = AuthEvent.objects.get(user=user, kind=AuthEvent.Kind.MFA_FACTOR_ADDED)
    assert added.detail["factor"] == "totp"
    assert _subjects(user) == [f"{kit_settings.SITE_NAME}: Second factor added"]
    # This password-only session may not change the factors now (step-up)...
    again = me.post(TOTP_URL)
    assert (again.status_code, again.json().get("code")) == (403, "mfa_required_for_route")
    # ... and one with the factor is told TOTP is on already.
    again = mfa_client(user).post(TOTP_URL)
    assert (again.status_code, again.json().get("code")) == (400, "invalid")
    # The app now needs the second factor; the code that confirmed cannot be replayed.
    body = {"username": user.username, "password": password, "device_id": "tablet"}
    first = APIClient().post(TOKEN_URL, body, format="json")
    assert first.json().get("code") == "mfa_required"
    replay = {"mfa_token": first.json()["mfa_token"], "code": code}
    assert APIClient().post(MFA_URL, replay, format="json").json().get("code") == "mfa_invalid"
    mfa_clock.advance(30)
    fresh = {"mfa_token": first.json()["mfa_token"], "code": mfa_clock.code(secret)}
    assert APIClient().post(MFA_URL, fresh, format="json").status_code == 200


def test_removing_totp_needs_a_right_code(user, totp_enrol, mfa_clock, mailed, mfa_client):
    secret, codes = totp_enrol(user)
    me = mfa_client(user)
    wrong = me.delete(TOTP_URL, {"code": mfa_clock.code(secret, steps=4)}, format="json")
    assert (wrong.status_code, wrong.json().get("code")) == (400, "invalid")
    assert AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.MFA_FAILED).count() == 1
    missing = me.delete(TOTP_URL, {}, format="json")
    assert (missing.status_code, missing.json().get("code")) == (400, "invalid")
    assert me.get(STATUS_URL).json()["totp"] is True
    response = mailed(lambda: me.delete(TOTP_URL, {"code": mfa_clock.code(secret)}, format="json"))
    assert response.status_code == 204
    # No factor left: the recovery codes went with it, and a sign-in is one step again.
    assert me.get(STATUS_URL).json() == {"totp": False, "recovery_codes_left": 0, "passkeys": []}
    assert not Authenticator.objects.filter(user=user).exists()
    removed = AuthEvent.objects.get(user=user, kind=AuthEvent.Kind.MFA_FACTOR_REMOVED)
    assert removed.detail["factor"] == "totp"
    assert _subjects(user) == [f"{kit_settings.SITE_NAME}: Second factor removed"]
    again = me.delete(TOTP_URL, {"code": codes[0]}, format="json")
    assert (again.status_code, again.json().get("code")) == (400, "invalid")


def test_removing_totp_with_a_recovery_code(user, totp_enrol, mfa_client):
    _, codes = totp_enrol(user)
    me = mfa_client(user)
    assert me.delete(TOTP_URL, {"code": codes[3]}, format="json").status_code == 204
    assert me.get(STATUS_URL).json()["totp"] is False


def test_wrong_codes_on_the_enrolment_routes_count_toward_the_lockout(
    user, totp_enrol, mfa_clock, settings, mfa_client
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 2}
    secret, _ = totp_enrol(user)
    me = mfa_client(user)
    wrong = {"code": mfa_clock.code(secret, steps=7)}
    assert me.post(RECOVERY_URL, wrong, format="json").status_code == 400
    assert me.delete(TOTP_URL, wrong, format="json").status_code == 400
    locked = me.delete(TOTP_URL, {"code": mfa_clock.code(secret)}, format="json")
    assert (locked.status_code, locked.json().get("code")) == (429, "too_many_attempts")
    assert me.get(STATUS_URL).json()["totp"] is True


def test_new_recovery_codes_void_the_old_ones(
    user, password, totp_enrol, mfa_clock, mailed, mfa_client
):
    secret, old = totp_enrol(user)
    me = mfa_client(user)
    wrong = me.post(RECOVERY_URL, {"code": "00000000"}, format="json")
    assert (wrong.status_code, wrong.json().get("code")) == (400, "invalid")
    response = mailed(
        lambda: me.post(RECOVERY_URL, {"code": mfa_clock.code(secret)}, format="json")
    )
    assert response.status_code == 200
    new = response.json()["recovery_codes"]
    assert len(new) == 10
    assert not set(new) & set(old)
    renewed = AuthEvent.objects.get(user=user, kind=AuthEvent.Kind.MFA_RECOVERY_CODES_RENEWED)
    assert renewed.detail["factor"] == "recovery_codes"
    assert _subjects(user) == [f"{kit_settings.SITE_NAME}: Recovery codes renewed"]
    body = {"username": user.username, "password": password, "device_id": "tablet"}
    token = APIClient().post(TOKEN_URL, body, format="json").json()["mfa_token"]
    refused = APIClient().post(MFA_URL, {"mfa_token": token, "code": old[0]}, format="json")
    assert refused.json().get("code") == "mfa_invalid"
    signed_in = APIClient().post(MFA_URL, {"mfa_token": token, "code": new[0]}, format="json")
    assert signed_in.status_code == 200


def test_new_recovery_codes_need_a_second_factor(me):
    response = me.post(RECOVERY_URL, {"code": "12345678"}, format="json")
    assert (response.status_code, response.json().get("code")) == (400, "invalid")


def test_a_browser_app_enrols_with_the_csrf_header(browser, sign_in, user, password, mfa_clock):
    login = browser.post(
        "/api/v1/auth/cookie/login/",
        {"username": user.username, "password": password},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert login.status_code == 200
    refused = browser.post(TOTP_URL)
    assert (refused.status_code, refused.json().get("code")) == (403, "csrf_failed")
    allowed = browser.post(TOTP_URL, HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)
    assert allowed.status_code == 200
