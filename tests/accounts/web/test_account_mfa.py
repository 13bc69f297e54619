"""The account page's "Second factors": enrol TOTP (its secret and QR code, a first code,
the recovery codes shown once), remove it and renew the recovery codes with a code, add a
passkey through the API on the browser's session (what static/accounts/passkey-add.js
sends), remove a passkey. Every page is a form that posts, with CSRF."""

import re

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client

from accounts.models import AuthEvent

pytestmark = pytest.mark.django_db

ACCOUNT = "/accounts/"
ENROL = "/accounts/mfa/totp/"
CONFIRM = "/accounts/mfa/totp/confirm/"
REMOVE = "/accounts/mfa/totp/remove/"
RENEW = "/accounts/mfa/recovery-codes/"


@pytest.fixture
def browser(user, signed_in_browser):
    return signed_in_browser(user)


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST with the on-commit work (the e-mails) run."""

    def _post(client, url, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {})

    return _post


def shown_secret(page):
    return re.search(r'<code id="totp-secret" class="secret">([A-Z2-7]+)</code>', page).group(1)


def shown_codes(page):
    return re.findall(r"<li><code>([^<]+)</code></li>", page)


def kinds(user):
    return set(Authenticator.objects.filter(user=user).values_list("type", flat=True))


def test_the_section_offers_the_set_up_and_a_passkey(browser):
    page = browser.get(ACCOUNT).content.decode()
    assert 'id="second-factors"' in page
    assert f'action="{ENROL}"' in page
    assert 'id="passkey-add-form"' in page
    assert 'data-begin="/api/v1/mfa/passkeys/begin/"' in page
    assert "You get 10 recovery codes with your first second factor." in page


def test_enrolling_shows_the_secret_and_its_qr_code_then_the_recovery_codes_once(
    browser, user, mfa_clock, post
):
    page = post(browser, ENROL)
    assert page.status_code == 200
    body = page.content.decode()
    secret = shown_secret(body)
    svg = re.search(r"<svg[^>]*>.*?</svg>", body, re.S).group(0)
    assert "<path" in svg
    assert "style=" not in svg
    assert "<script" not in body.replace('<script src="', "")
    assert kinds(user) == set()  # pending until the first code

    done = post(browser, CONFIRM, {"code": mfa_clock.code(secret), "secret": secret})
    assert done.status_code == 200
    codes = shown_codes(done.content.decode())
    assert len(codes) == 10
    assert kinds(user) == {"totp", "recovery_codes"}
    assert AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.MFA_FACTOR_ADDED).exists()
    assert [m.to for m in mail.outbox] == [[user.email]]
    section = browser.get(ACCOUNT).content.decode()
    assert "10 unused recovery codes left." in section
    assert not set(codes) & set(shown_codes(section))  # shown once


def test_a_wrong_first_code_shows_the_same_secret_again(browser, user, mfa_clock, post):
    secret = shown_secret(post(browser, ENROL).content.decode())
    again = post(browser, CONFIRM, {"code": mfa_clock.code(secret, steps=5), "secret": secret})
    assert again.status_code == 400
    body = again.content.decode()
    assert shown_secret(body) == secret
    assert "The code is wrong" in body
    assert kinds(user) == set()


def test_the_secret_field_only_redisplays_the_page(browser, user, mfa_clock, post):
    """The rule confirms the secret it keeps: a code of another secret is refused."""
    post(browser, ENROL)
    other = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    again = post(browser, CONFIRM, {"code": mfa_clock.code(other), "secret": other})
    assert again.status_code == 400
    assert kinds(user) == set()


def test_a_confirm_without_a_set_up_sends_back_to_the_section(browser, user, post):
    response = post(browser, CONFIRM, {"code": "123456", "secret": "junk"})
    assert response["Location"] == "/accounts/#second-factors"
    assert kinds(user) == set()


def test_setting_up_twice_is_refused_with_a_message(user, enrol_totp, mfa_browser, post):
    enrol_totp(user)
    browser = mfa_browser(user)
    response = post(browser, ENROL)
    assert response["Location"] == "/accounts/#second-factors"
    assert "already set up" in browser.get(ACCOUNT).content.decode()


def test_removing_needs_a_right_code(user, enrol_totp, mfa_browser, mfa_clock, post):
    secret, _ = enrol_totp(user)
    browser = mfa_browser(user)
    wrong = post(browser, REMOVE, {"totp_remove-code": "000000"})
    assert wrong.status_code == 400
    assert "The code is wrong or was already used." in wrong.content.decode()
    assert "totp" in kinds(user)
    assert AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.MFA_FAILED).count() == 1

    right = post(browser, REMOVE, {"totp_remove-code": mfa_clock.code(secret)})
    assert right["Location"] == "/accounts/#second-factors"
    assert kinds(user) == set()  # the recovery codes went with the last factor
    assert AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.MFA_FACTOR_REMOVED).exists()
    assert "Your authenticator app is removed." in browser.get(ACCOUNT).content.decode()


def test_wrong_codes_on_the_account_page_count_toward_the_lockout(
    user, enrol_totp, mfa_browser, mfa_clock, settings, post
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 2}
    secret, _ = enrol_totp(user)
    browser = mfa_browser(user)
    for _ in range(2):
        post(browser, REMOVE, {"totp_remove-code": "000000"})
    locked = post(browser, REMOVE, {"totp_remove-code": mfa_clock.code(secret)})
    assert locked.status_code == 429
    assert "totp" in kinds(user)


def test_new_recovery_codes_void_the_old_ones(user, enrol_totp, mfa_browser, mfa_clock, post):
    secret, old = enrol_totp(user)
    browser = mfa_browser(user)
    renewed = post(browser, RENEW, {"recovery_codes-code": mfa_clock.code(secret)})
    assert renewed.status_code == 200
    new = shown_codes(renewed.content.decode())
    assert len(new) == 10
    assert not set(new) & set(old)
    assert AuthEvent.objects.filter(
        user=user, kind=AuthEvent.Kind.MFA_RECOVERY_CODES_RENEWED
    ).exists()
    # An old code no longer proves anything; a new one does.
    assert post(browser, RENEW, {"recovery_codes-code": old[0]}).status_code == 400
    assert post(browser, RENEW, {"recovery_codes-code": new[0]}).status_code == 200


def test_renewing_with_a_wrong_code_keeps_the_codes(user, enrol_totp, mfa_browser, post):
    _, old = enrol_totp(user)
    browser = mfa_browser(user)
    response = post(browser, RENEW, {"recovery_codes-code": "nope"})
    assert response.status_code == 400
    assert "The code is wrong or was already used." in response.content.decode()
    assert post(browser, RENEW, {"recovery_codes-code": old[0]}).status_code == 200


@pytest.mark.parametrize("url", [ENROL, CONFIRM, REMOVE, RENEW, "/accounts/mfa/passkeys/1/remove/"])
def test_every_change_needs_a_signed_in_browser_a_post_and_a_csrf_token(user, url):
    anonymous = Client()
    assert anonymous.post(url)["Location"].startswith("/accounts/login/")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get(url).status_code == 405
    assert browser.post(url).status_code == 403


# --- passkeys -----------------------------------------------------------------------------


def test_the_script_adds_a_passkey_on_the_session_with_the_csrf_header(user, authenticator):
    """What passkey-add.js sends: the session cookie, X-CSRFToken, JSON."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    page = browser.get(ACCOUNT)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    headers = {"HTTP_X_CSRFTOKEN": token}
    no_header = browser.post("/api/v1/mfa/passkeys/begin/", {}, content_type="application/json")
    assert no_header.status_code == 403
    begun = browser.post(
        "/api/v1/mfa/passkeys/begin/", {}, content_type="application/json", **headers
    ).json()
    credential = authenticator.register(begun["options"])
    added = browser.post(
        "/api/v1/mfa/passkeys/",
        {
            "challenge_token": begun["challenge_token"],
            "credential": credential,
            "name": "Ada's key",
        },
        content_type="application/json",
        **headers,
    )
    assert added.status_code == 201, added.content
    page = browser.get(ACCOUNT).content.decode()
    assert "Ada&#x27;s key" in page
    assert 'aria-label="Remove the passkey Ada&#x27;s key"' in page


@pytest.fixture
def passkey_of(sign_in, passkey_enrol, authenticator, make_user, password):
    """passkey_of(user) -> the id of a passkey registered for `user` through the API."""

    def _passkey_of(owner):
        access = sign_in(username=owner.username).json()["access"]
        passkey_enrol(access, authenticator, name=f"{owner.username}'s key")
        return Authenticator.objects.filter(user=owner, type="webauthn").latest("pk").pk

    return _passkey_of


def test_removing_a_passkey(user, passkey_of, mfa_browser, post):
    passkey_id = passkey_of(user)
    browser = mfa_browser(user)
    response = post(browser, f"/accounts/mfa/passkeys/{passkey_id}/remove/")
    assert response["Location"] == "/accounts/#second-factors"
    assert not Authenticator.objects.filter(pk=passkey_id).exists()
    assert AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.MFA_FACTOR_REMOVED).exists()


def test_another_users_passkey_is_a_404(browser, make_user, passkey_of, post):
    other = make_user(username="bob")
    passkey_id = passkey_of(other)
    assert post(browser, f"/accounts/mfa/passkeys/{passkey_id}/remove/").status_code == 404
    assert Authenticator.objects.filter(pk=passkey_id).exists()


def test_totp_after_a_passkey_brings_no_second_set_of_codes(
    user, passkey_of, mfa_browser, mfa_clock, post
):
    passkey_of(user)  # the first factor: its recovery codes came with it
    browser = mfa_browser(user)
    secret = shown_secret(post(browser, ENROL).content.decode())
    done = post(browser, CONFIRM, {"code": mfa_clock.code(secret), "secret": secret})
    assert done["Location"] == "/accounts/#second-factors"
    assert kinds(user) == {"totp", "recovery_codes", "webauthn"}
    assert "Your authenticator app is set up." in browser.get(ACCOUNT).content.decode()
