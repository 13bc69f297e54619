"""Step-up for factor changes: once an account has a second factor, a session whose sign-in
did not use one (amr without "mfa": the password alone, or a session from before the first
factor) can neither add nor remove factors (403 `mfa_required_for_route`); and enrolling
the first factor ends every other session of the user, the caller's own kept."""

import pytest
from allauth.mfa.models import Authenticator
from rest_framework.test import APIClient

from accounts.models import DeviceSession
from tests.conftest import PASSKEYS_BEGIN_URL, PASSKEYS_URL
from tests.webauthn_authenticator import SoftwareAuthenticator

pytestmark = pytest.mark.django_db

TOTP_URL = "/api/v1/mfa/totp/"
CONFIRM_URL = "/api/v1/mfa/totp/confirm/"
RECOVERY_URL = "/api/v1/mfa/recovery-codes/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
REFUSED = (403, "mfa_required_for_route")


def _client(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _refusal(response):
    return response.status_code, response.json().get("code") if response.content else None


def _factors(user):
    return sorted(Authenticator.objects.filter(user=user).values_list("type", flat=True))


@pytest.fixture
def two_devices(sign_in, mfa_clock):
    """Two password-only device sessions of `user`: (phone, laptop) sign-in bodies."""
    return sign_in(device_id="phone").json(), sign_in(device_id="laptop").json()


def test_the_first_factor_ends_the_other_sessions_and_keeps_the_callers(
    user, two_devices, mfa_clock, signed_in_browser
):
    phone, laptop = two_devices
    other_browser = signed_in_browser(user)
    me = _client(phone["access"])
    secret = me.post(TOTP_URL).json()["secret"]

    assert me.post(CONFIRM_URL, {"code": mfa_clock.code(secret)}, format="json").status_code == 200

    # The laptop's session (maybe an attacker's, who had the password) is over ...
    ended = _client(laptop["access"]).get("/api/v1/mfa/")
    assert _refusal(ended) == (401, "session_revoked")
    again = APIClient().post(
        REFRESH_URL, {"refresh": laptop["refresh"], "device_id": "laptop"}, format="json"
    )
    assert again.status_code == 401
    revoked = DeviceSession.objects.get(device_id="laptop")
    assert revoked.revoke_reason == DeviceSession.RevokeReason.MFA_ENROLLED
    # ... and so is every browser session, while the enrolling phone stays signed in.
    assert other_browser.get("/accounts/").status_code == 302
    assert me.get("/api/v1/mfa/").json()["totp"] is True


def test_a_password_only_session_cannot_add_or_remove_factors(
    user, two_devices, mfa_clock, passkey_enrol, authenticator, passkey_sign_in
):
    phone, _ = two_devices
    # The first factor, a passkey, from the phone: no step-up needed (none to use).
    added = passkey_enrol(phone["access"], authenticator).json()
    codes = added["recovery_codes"]
    me = _client(phone["access"])  # still signed in with the password alone
    stepped_up = _client(passkey_sign_in(authenticator, device_id="tablet").json()["access"])
    begun = stepped_up.post(PASSKEYS_BEGIN_URL).json()
    credential = SoftwareAuthenticator().register(begun["options"])

    attempts = {
        "totp set-up": me.post(TOTP_URL),
        "totp confirm": me.post(CONFIRM_URL, {"code": "123456"}, format="json"),
        "passkey begin": me.post(PASSKEYS_BEGIN_URL),
        "passkey add": me.post(PASSKEYS_URL, {"credential": credential}, format="json"),
        "passkey remove": me.delete(f"{PASSKEYS_URL}{added['id']}/"),
        "new recovery codes": me.post(RECOVERY_URL, {"code": codes[0]}, format="json"),
    }

    assert {name: _refusal(r) for name, r in attempts.items()} == dict.fromkeys(attempts, REFUSED)
    assert _factors(user) == ["recovery_codes", "webauthn"]
    # With the factor in this sign-in (a passkey: amr hwk, user, mfa) the same changes pass.
    assert stepped_up.post(RECOVERY_URL, {"code": codes[0]}, format="json").status_code == 200
    assert stepped_up.delete(f"{PASSKEYS_URL}{added['id']}/").status_code == 204
    assert _factors(user) == []


def test_removing_totp_from_a_password_only_session_is_refused_even_with_a_right_code(
    user, two_devices, mfa_clock
):
    phone, _ = two_devices
    me = _client(phone["access"])
    secret = me.post(TOTP_URL).json()["secret"]
    codes = me.post(CONFIRM_URL, {"code": mfa_clock.code(secret)}, format="json").json()
    mfa_clock.advance(30)

    refused = me.delete(TOTP_URL, {"code": mfa_clock.code(secret)}, format="json")
    with_recovery = me.delete(TOTP_URL, {"code": codes["recovery_codes"][0]}, format="json")

    assert _refusal(refused) == _refusal(with_recovery) == REFUSED
    assert _factors(user) == ["recovery_codes", "totp"]
