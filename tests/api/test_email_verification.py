"""E-mail verification over the API: sign-up, POST /auth/email/verify/, `403
email_unverified` at every sign-in route (before any session), POST /me/email/."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import AuthEvent, BrowserSession, DeviceSession, MfaChallenge, User
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

SIGNUP = "/api/v1/auth/signup/"
VERIFY = "/api/v1/auth/email/verify/"
TOKEN = "/api/v1/auth/token/"
TOKEN_MFA = "/api/v1/auth/token/mfa/"
COOKIE_LOGIN = "/api/v1/auth/cookie/login/"
COOKIE_LOGIN_MFA = "/api/v1/auth/cookie/login/mfa/"
ME_EMAIL = "/api/v1/me/email/"
NEW_PASSWORD = "a-brand-new-passphrase-42"
KEY = re.compile(r"^([\w-]+:[\w-]+:[\w-]+)$", re.MULTILINE)


@pytest.fixture
def signup_open(settings):
    """Sign-up on, and so (by default) verification mandatory."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True, "EMAIL_VERIFICATION": ""}


@pytest.fixture
def unverified(signup_open, make_user):
    """A user whose address awaits its verification (as after a sign-up)."""
    user = make_user(username="nova", email="nova@example.com")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    return user


def key_of(mail):
    (key,) = KEY.findall(mail.body)
    return key


def no_session_opened():
    assert DeviceSession.objects.count() == 0
    assert BrowserSession.objects.count() == 0


def csrf_client():
    client = APIClient(enforce_csrf_checks=True)
    client.get("/api/v1/auth/csrf/")
    client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    return client


# --- sign-up and verify ------------------------------------------------------------------


@pytest.mark.usefixtures("signup_open")
def test_sign_up_answers_alike_for_a_new_and_a_registered_address(api_client, mailoutbox):
    new = api_client.post(
        SIGNUP,
        {"username": "grace", "email": "grace@example.com", "password": NEW_PASSWORD},
        format="json",
    )
    again = api_client.post(
        SIGNUP,
        {"username": "grace2", "email": "GRACE@example.com", "password": NEW_PASSWORD},
        format="json",
    )
    assert (new.status_code, new.json()) == (again.status_code, again.json())
    assert new.status_code == 202
    verify_mail, existing_mail = mailoutbox
    assert verify_mail.to == existing_mail.to == ["grace@example.com"]
    assert "Confirm your e-mail address" in verify_mail.subject
    assert "already have" in existing_mail.subject
    assert KEY.findall(existing_mail.body) == []
    assert User.objects.count() == 1


@pytest.mark.usefixtures("signup_open")
def test_sign_up_then_verify_then_sign_in(api_client, mailoutbox):
    api_client.post(
        SIGNUP,
        {"username": "grace", "email": "grace@example.com", "password": NEW_PASSWORD},
        format="json",
    )
    body = {"username": "grace", "password": NEW_PASSWORD, "device_id": "phone"}
    refused = api_client.post(TOKEN, body, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "email_unverified"
    verified = api_client.post(VERIFY, {"key": key_of(mailoutbox[0])}, format="json")
    assert verified.status_code == 204
    assert api_client.post(TOKEN, body, format="json").status_code == 200
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.EMAIL_VERIFIED).count() == 1


@pytest.mark.usefixtures("signup_open")
def test_a_used_or_forged_key_is_400_invalid(api_client, mailoutbox):
    api_client.post(
        SIGNUP,
        {"username": "grace", "email": "grace@example.com", "password": NEW_PASSWORD},
        format="json",
    )
    key = key_of(mailoutbox[0])
    assert api_client.post(VERIFY, {"key": key}, format="json").status_code == 204
    for bad in (key, key[:-1] + ("A" if key[-1] != "A" else "B"), "x", "a" * 512):
        response = api_client.post(VERIFY, {"key": bad}, format="json")
        assert response.status_code == 400, bad
        assert response.json()["code"] == "invalid"
        assert list(response.json()["errors"]) == ["key"]
    assert api_client.post(VERIFY, {}, format="json").status_code == 400
    assert api_client.post(VERIFY, {"key": "b" * 513}, format="json").status_code == 400


# --- every sign-in path refuses an unverified address, before any session --------------


def test_token_sign_in_is_refused_after_the_password_only(api_client, unverified, mailoutbox):
    wrong = api_client.post(TOKEN, {"username": "nova", "password": "wrong"}, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    assert mailoutbox == []  # nothing for someone without the password
    right = api_client.post(
        TOKEN, {"username": "nova@example.com", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert right.status_code == 403
    assert right.json()["code"] == "email_unverified"
    assert set(right.json()) == {"code", "detail"}
    no_session_opened()
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_EMAIL_UNVERIFIED).count() == 1


def test_a_refused_sign_in_mails_a_new_link_at_most_once_in_ten_minutes(
    api_client, unverified, mailoutbox
):
    for _ in range(3):
        response = api_client.post(
            TOKEN, {"username": "nova", "password": DEFAULT_PASSWORD}, format="json"
        )
        assert response.status_code == 403
    (mail,) = mailoutbox
    assert mail.to == ["nova@example.com"]
    assert api_client.post(VERIFY, {"key": key_of(mail)}, format="json").status_code == 204
    assert (
        api_client.post(
            TOKEN, {"username": "nova", "password": DEFAULT_PASSWORD}, format="json"
        ).status_code
        == 200
    )


def test_cookie_sign_in_is_refused(unverified):
    client = csrf_client()
    response = client.post(
        COOKIE_LOGIN, {"username": "nova", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (403, "email_unverified")
    assert "access_token" not in response.cookies
    no_session_opened()


@pytest.mark.parametrize(
    ("first", "second"), [(TOKEN, TOKEN_MFA), (COOKIE_LOGIN, COOKIE_LOGIN_MFA)]
)
def test_an_mfa_account_is_refused_at_the_first_step_without_a_token(
    unverified, totp_enrol, first, second
):
    totp_enrol(unverified)
    client = csrf_client()
    response = client.post(first, {"username": "nova", "password": DEFAULT_PASSWORD}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "email_unverified")
    assert "mfa_token" not in response.json()
    assert not MfaChallenge.objects.filter(kind=MfaChallenge.Kind.SIGN_IN).exists()
    no_session_opened()


@pytest.mark.parametrize(
    ("first", "second"), [(TOKEN, TOKEN_MFA), (COOKIE_LOGIN, COOKIE_LOGIN_MFA)]
)
def test_the_second_step_is_refused_too(signup_open, user, totp_enrol, mfa_clock, first, second):
    """An address that became unverified between the steps (e.g. a pending sign-up row
    written meanwhile): the second step refuses it as well, with no session."""
    secret, _ = totp_enrol(user)
    client = csrf_client()
    step = client.post(
        first, {"username": user.username, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert step.json()["code"] == "mfa_required"
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    response = client.post(
        second,
        {"mfa_token": step.json()["mfa_token"], "code": mfa_clock.code(secret)},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (403, "email_unverified")
    no_session_opened()


def test_passkey_sign_in_is_refused(
    signup_open, user, sign_in, authenticator, passkey_enrol, passkey_sign_in
):
    passkey_enrol(sign_in(device_id="laptop").json()["access"], authenticator)
    DeviceSession.objects.all().delete()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    response = passkey_sign_in(authenticator, expect=403)
    assert response.json()["code"] == "email_unverified"
    no_session_opened()


@pytest.mark.parametrize("mode", ["optional", "none"])
def test_other_modes_let_an_unverified_address_sign_in(api_client, unverified, settings, mode):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EMAIL_VERIFICATION": mode}
    assert (
        api_client.post(
            TOKEN, {"username": "nova", "password": DEFAULT_PASSWORD}, format="json"
        ).status_code
        == 200
    )


def test_a_createsuperuser_user_signs_in_with_verification_mandatory(
    signup_open, api_client, monkeypatch
):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", DEFAULT_PASSWORD)
    call_command("createsuperuser", "--noinput", "--username", "ada", "--email", "ada@example.com")
    response = api_client.post(
        TOKEN, {"username": "ada", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.status_code == 200


def test_the_python_login_refuses_too(unverified, rf):
    from django.contrib.sessions.backends.db import SessionStore

    from accounts import auth
    from accounts.errors import EmailUnverified

    request = rf.post("/")
    request.session = SessionStore()
    for backend in (auth.SESSION, auth.JWT):
        with pytest.raises(EmailUnverified):
            auth.login(request, unverified, backend=backend)
    assert "_auth_user_id" not in request.session
    no_session_opened()


# --- POST /me/email/ ---------------------------------------------------------------------


@pytest.fixture
def me(sign_in, bearer):
    client = APIClient()
    client.credentials(**bearer(sign_in().json()["access"]))
    return client


def test_change_email_flow(me, user, mailoutbox, api_client):
    old = user.email
    response = me.post(
        ME_EMAIL, {"email": "fresh@example.org", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.status_code == 202
    assert list(response.json()) == ["detail"]
    assert me.get("/api/v1/me/").json()["email"] == old
    to_new, to_old = mailoutbox
    assert (to_new.to, to_old.to) == (["fresh@example.org"], [old])
    assert "f***@example.org" in to_old.body
    assert api_client.post(VERIFY, {"key": key_of(to_new)}, format="json").status_code == 204
    assert me.get("/api/v1/me/").json()["email"] == "fresh@example.org"
    assert api_client.post(VERIFY, {"key": key_of(to_new)}, format="json").status_code == 400
    # The new address signs in.
    body = {"username": "fresh@example.org", "password": DEFAULT_PASSWORD}
    assert api_client.post(TOKEN, body, format="json").status_code == 200


def test_a_taken_address_answers_the_same_and_changes_nothing(me, user, make_user, mailoutbox):
    make_user(username="other", email="other@example.com")
    free = me.post(
        ME_EMAIL, {"email": "free@example.com", "password": DEFAULT_PASSWORD}, format="json"
    )
    taken = me.post(
        ME_EMAIL, {"email": "Other@example.com", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert (free.status_code, free.json()) == (taken.status_code, taken.json())
    assert [m.to for m in mailoutbox[2:]] == [[user.email]]  # only the notice
    assert set(User.objects.values_list("email", flat=True)) == {user.email, "other@example.com"}
    assert not EmailAddress.objects.filter(email__iexact="other@example.com").exists()


def test_a_wrong_password_is_400_then_the_lockout_429(me, settings, mailoutbox):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 3}
    for _ in range(3):
        wrong = me.post(ME_EMAIL, {"email": "x@example.com", "password": "nope"}, format="json")
        assert wrong.status_code == 400
        assert wrong.json()["code"] == "invalid"
        assert list(wrong.json()["errors"]) == ["password"]
    locked = me.post(
        ME_EMAIL, {"email": "x@example.com", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert locked.status_code == 429
    assert locked.json()["code"] == "too_many_attempts"
    assert "Retry-After" in locked
    assert not EmailAddress.objects.exists()
    assert mailoutbox == []


def test_change_email_needs_a_signed_in_caller_and_csrf_with_a_cookie(user):
    assert (
        APIClient()
        .post(ME_EMAIL, {"email": "a@example.com", "password": "x"}, format="json")
        .status_code
        == 401
    )
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.post(
        ME_EMAIL, {"email": "a@example.com", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")


def test_the_schema_declares_the_new_routes_and_their_errors(api_client):
    from api.openapi import codes_of

    paths = api_client.get("/api/schema/?format=json").json()["paths"]
    verify = paths[VERIFY]["post"]["responses"]
    assert "204" in verify
    assert "invalid" in codes_of(verify["400"])
    change = paths[ME_EMAIL]["post"]["responses"]
    assert "202" in change
    assert "too_many_attempts" in codes_of(change["429"])
    for route in (TOKEN, TOKEN_MFA, COOKIE_LOGIN, COOKIE_LOGIN_MFA, "/api/v1/auth/passkey/"):
        assert "email_unverified" in codes_of(paths[route]["post"]["responses"]["403"]), route
