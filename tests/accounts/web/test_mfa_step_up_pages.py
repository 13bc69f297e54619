"""Step-up on the account page: a browser signed in with the password alone cannot change
the second factors of an account that has one (a message says why, nothing changes); the
first factor enrolled on the page ends the user's other sessions and keeps this one."""

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.messages import get_messages
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

SECTION = "/accounts/#second-factors"
STEP_UP = "Changing your second factors needs a sign-in with one"


def _factors(user):
    return sorted(Authenticator.objects.filter(user=user).values_list("type", flat=True))


def _messages(response):
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_a_password_only_browser_cannot_change_the_factors(
    user, totp_enrol, signed_in_browser, mfa_clock, passkey_enrol, authenticator, sign_in
):
    access = sign_in(device_id="set-up").json()["access"]
    codes = passkey_enrol(access, authenticator).json()["recovery_codes"]
    user.refresh_from_db()
    secret, _ = totp_enrol(user)
    browser = signed_in_browser(user)  # a session without a second factor (amr not "mfa")
    passkey_id = Authenticator.objects.get(user=user, type="webauthn").pk

    for url, data in [
        ("/accounts/mfa/totp/", {}),
        ("/accounts/mfa/totp/confirm/", {"code": mfa_clock.code(secret), "secret": secret}),
        ("/accounts/mfa/totp/remove/", {"totp_remove-code": mfa_clock.code(secret)}),
        ("/accounts/mfa/recovery-codes/", {"recovery_codes-code": codes[0]}),
        (f"/accounts/mfa/passkeys/{passkey_id}/remove/", {}),
    ]:
        response = browser.post(url, data)
        assert (url, response["Location"]) == (url, SECTION)
        assert STEP_UP in _messages(response)

    assert _factors(user) == ["recovery_codes", "totp", "webauthn"]


def test_the_first_factor_on_the_page_ends_the_other_sessions(
    user, signed_in_browser, sign_in, mfa_clock
):
    phone = sign_in(device_id="phone").json()
    other_browser = signed_in_browser(user)
    browser = signed_in_browser(user)
    page = browser.post("/accounts/mfa/totp/").content.decode()
    secret = page.split('<code id="totp-secret" class="secret">')[1].split("<")[0]

    done = browser.post("/accounts/mfa/totp/confirm/", {"code": mfa_clock.code(secret)})

    assert done.status_code == 200  # the recovery codes, shown once
    assert browser.get("/accounts/").status_code == 200  # this browser stays signed in
    assert other_browser.get("/accounts/").status_code == 302
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {phone['access']}")
    assert app.get("/api/v1/mfa/").json().get("code") == "session_revoked"
