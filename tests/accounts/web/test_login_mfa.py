"""The HTML sign-in of an account with a second factor: the password opens no session; a
code page finishes it (TOTP or recovery code, through accounts.mfa.signin), and "Sign in
with a passkey" signs a browser in without a password (accounts.mfa.passkeys)."""

import json

import pytest
from allauth.mfa.models import Authenticator

from accounts import auth
from accounts.devices import cookies
from accounts.models import AuthEvent, DeviceSession

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
CODE_PAGE = "/accounts/login/mfa/"
PASSKEY = "/accounts/login/passkey/"


def signed_in(client):
    return client.get("/accounts/").status_code == 200


@pytest.fixture
def totp(user, enrol_totp):
    """TOTP on for `user`: (secret, recovery codes)."""
    return enrol_totp(user)


@pytest.fixture
def password_step(client, user, password):
    """The first step: the right password, with `next`."""

    def _step(next_url="/accounts/spa-demo/"):
        return client.post(
            LOGIN, {"username": user.username, "password": password, "next": next_url}
        )

    return _step


def test_the_password_alone_opens_no_session(client, totp, password_step):
    response = password_step()
    assert response.status_code == 302
    assert response["Location"] == CODE_PAGE
    assert not signed_in(client)
    assert not DeviceSession.objects.exists()
    page = client.get(CODE_PAGE)
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.content.decode()
    assert "recovery codes" in page.content.decode()


def test_the_right_code_signs_the_browser_in(client, user, totp, password_step, mfa_clock):
    secret, _ = totp
    password_step()
    response = client.post(CODE_PAGE, {"code": mfa_clock.code(secret)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/spa-demo/"
    assert cookies.TRUST_COOKIE in response.cookies
    assert signed_in(client)
    assert client.session[auth.SESSION_AMR_KEY] == ["pwd", "otp", "mfa"]
    assert not DeviceSession.objects.exists()  # a browser session, not a device session
    # The step is used up: the code page sends the browser back to the sign-in page.
    assert client.get(CODE_PAGE)["Location"] == LOGIN


def test_a_wrong_code_is_a_form_error_and_may_be_typed_again(
    client, user, totp, password_step, mfa_clock
):
    secret, _ = totp
    password_step()
    response = client.post(CODE_PAGE, {"code": "000000"})
    assert response.status_code == 400
    assert "The code is wrong or was already used." in response.content.decode()
    assert not signed_in(client)
    assert AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.MFA_FAILED).count() == 1
    assert client.post(CODE_PAGE, {"code": mfa_clock.code(secret)}).status_code == 302
    assert signed_in(client)


def test_wrong_codes_count_toward_the_lockout(
    client, user, totp, password_step, mfa_clock, settings
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 3}
    secret, _ = totp
    password_step()
    for _ in range(3):
        assert client.post(CODE_PAGE, {"code": "000000"}).status_code == 400
    locked = client.post(CODE_PAGE, {"code": mfa_clock.code(secret)})
    assert locked.status_code == 429
    assert "Retry-After" in locked
    assert not signed_in(client)


def test_a_code_is_accepted_once(client, user, totp, password_step, mfa_clock, password):
    secret, _ = totp
    code = mfa_clock.code(secret)
    password_step()
    client.post(CODE_PAGE, {"code": code})
    client.post("/accounts/logout/")
    password_step()
    replay = client.post(CODE_PAGE, {"code": code})
    assert replay.status_code == 400
    assert not signed_in(client)


def test_a_recovery_code_signs_in_once(client, user, totp, password_step):
    _, codes = totp
    password_step()
    assert client.post(CODE_PAGE, {"code": codes[0]}).status_code == 302
    assert signed_in(client)
    assert AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.MFA_RECOVERY_CODE_USED).exists()
    client.post("/accounts/logout/")
    password_step()
    assert client.post(CODE_PAGE, {"code": codes[0]}).status_code == 400
    assert not signed_in(client)


def test_an_expired_step_sends_back_to_the_sign_in_page(
    client, totp, password_step, mfa_clock, settings
):
    secret, _ = totp
    password_step()
    mfa_clock.advance(settings.ACCOUNTS.get("MFA_TOKEN_SECONDS", 300) + 1)
    response = client.post(CODE_PAGE, {"code": mfa_clock.code(secret)})
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert "expired" in client.get(LOGIN).content.decode()
    assert not signed_in(client)
    assert client.get(CODE_PAGE)["Location"] == LOGIN  # the pending step is forgotten


def test_the_code_page_without_a_password_step_sends_to_the_sign_in_page(client):
    assert client.get(CODE_PAGE)["Location"] == LOGIN
    assert client.post(CODE_PAGE, {"code": "123456"})["Location"] == LOGIN


def test_the_code_page_needs_a_csrf_token(totp, user, password):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    page = browser.get(LOGIN)
    token = page.cookies["csrftoken"].value
    browser.post(
        LOGIN, {"username": user.username, "password": password, "csrfmiddlewaretoken": token}
    )
    assert browser.post(CODE_PAGE, {"code": "123456"}).status_code == 403


def test_an_account_without_a_factor_signs_in_with_its_password(client, password_step):
    response = password_step()
    assert response["Location"] == "/accounts/spa-demo/"
    assert signed_in(client)
    assert client.session[auth.SESSION_AMR_KEY] == ["pwd"]


# --- passkeys -----------------------------------------------------------------------------


@pytest.fixture
def passkey(sign_in, passkey_enrol, authenticator):
    """A passkey of `user` in the software authenticator (registered through the API)."""
    passkey_enrol(sign_in().json()["access"], authenticator)
    return authenticator


def passkey_answer(api_client, authenticator, **knobs):
    begun = api_client.post("/api/v1/auth/passkey/begin/").json()
    credential = authenticator.sign_in(begun["options"], **knobs)
    return {"challenge_token": begun["challenge_token"], "credential": json.dumps(credential)}


def test_both_pages_offer_a_passkey_as_a_script_file(client, user, password_step, passkey):
    for path in (LOGIN, CODE_PAGE):
        if path == CODE_PAGE:
            password_step()
        body = client.get(path).content.decode()
        assert 'id="passkey-sign-in"' in body
        assert '<script src="/static/accounts/passkey-sign-in.js" defer></script>' in body
        assert "<script>" not in body


def test_a_passkey_signs_the_browser_in(client, api_client, user, passkey):
    body = {**passkey_answer(api_client, passkey), "next": "/accounts/spa-demo/"}
    response = client.post(PASSKEY, body)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/spa-demo/"
    assert signed_in(client)
    assert client.session[auth.SESSION_AMR_KEY] == ["hwk", "user", "mfa"]


def test_a_passkey_sign_in_goes_nowhere_off_site(client, api_client, passkey):
    body = {**passkey_answer(api_client, passkey), "next": "https://evil.example/"}
    assert client.post(PASSKEY, body)["Location"] == "/accounts/"


@pytest.mark.parametrize(
    "bad",
    [
        {"user_verified": False},
        {"origin": "https://evil.example"},
    ],
    ids=["no user verification", "another origin"],
)
def test_a_refused_passkey_signs_nobody_in(client, api_client, passkey, bad):
    response = client.post(PASSKEY, passkey_answer(api_client, passkey, **bad))
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert "The passkey was refused." in client.get(LOGIN).content.decode()
    assert not signed_in(client)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"challenge_token": "x", "credential": "not json"},
        {"challenge_token": "x", "credential": "[]"},
    ],
)
def test_a_malformed_passkey_answer_is_refused_not_a_500(client, body):
    response = client.post(PASSKEY, body)
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not signed_in(client)


def test_the_passkey_endpoint_is_post_only(client):
    assert client.get(PASSKEY).status_code == 405


def test_a_user_with_a_passkey_alone_is_asked_for_it_after_the_password(
    client, user, passkey, password_step
):
    assert Authenticator.objects.filter(user=user, type="totp").count() == 0
    assert password_step()["Location"] == CODE_PAGE
    assert not signed_in(client)


def test_the_passkey_endpoint_needs_a_csrf_token(api_client, passkey):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    assert browser.post(PASSKEY, passkey_answer(api_client, passkey)).status_code == 403
    assert not signed_in(browser)
