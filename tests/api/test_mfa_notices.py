"""Every change of a user's second factors leaves an audit event and an e-mail to the user,
whatever path made it: TOTP added and removed, a recovery code used, the codes renewed, a
passkey added and removed, an administrator's reset. A refused code is audited, not
mailed. One walk through all of them over HTTP, the lists compared whole."""

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from accounts.conf import kit_settings
from accounts.models import AuthEvent
from tests.conftest import PASSKEY_BEGIN_URL, PASSKEY_SIGN_IN_URL, PASSKEYS_URL
from tests.webauthn_authenticator import SoftwareAuthenticator

pytestmark = pytest.mark.django_db

Kind = AuthEvent.Kind
MFA_KINDS = [
    Kind.MFA_FAILED,
    Kind.MFA_FACTOR_ADDED,
    Kind.MFA_FACTOR_REMOVED,
    Kind.MFA_RECOVERY_CODE_USED,
    Kind.MFA_RECOVERY_CODES_RENEWED,
    Kind.MFA_RESET,
]


def _bearer(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_every_factor_change_is_audited_and_mailed(
    user,
    password,
    sign_in,
    superuser,
    mfa_clock,
    authenticator,
    passkey_enrol,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        phone = _bearer(sign_in(device_id="phone").json()["access"])
        secret = phone.post("/api/v1/mfa/totp/").json()["secret"]
        confirmed = phone.post(
            "/api/v1/mfa/totp/confirm/", {"code": mfa_clock.code(secret)}, format="json"
        )
        codes = confirmed.json()["recovery_codes"]
        body = {"username": user.username, "password": password, "device_id": "tablet"}
        token = APIClient().post("/api/v1/auth/token/", body, format="json").json()["mfa_token"]
        refused = APIClient().post(
            "/api/v1/auth/token/mfa/", {"mfa_token": token, "code": "000000"}, format="json"
        )
        done = APIClient().post(
            "/api/v1/auth/token/mfa/", {"mfa_token": token, "code": codes[0]}, format="json"
        )
        tablet = _bearer(done.json()["access"])  # signed in with a second factor
        mfa_clock.advance(30)
        renewed = tablet.post(
            "/api/v1/mfa/recovery-codes/", {"code": mfa_clock.code(secret)}, format="json"
        )
        added = passkey_enrol(done.json()["access"], authenticator).json()
        begun = APIClient().post(PASSKEY_BEGIN_URL).json()
        APIClient().post(
            PASSKEY_SIGN_IN_URL,
            {
                "challenge_token": begun["challenge_token"],
                "credential": authenticator.sign_in(begun["options"]),
            },
            format="json",
        )
        removed = tablet.delete(f"{PASSKEYS_URL}{added['id']}/")
        mfa_clock.advance(30)
        totp_off = tablet.delete(
            "/api/v1/mfa/totp/", {"code": mfa_clock.code(secret)}, format="json"
        )
        # A new passkey, lost at once: an administrator resets the factors.
        passkey_enrol(done.json()["access"], SoftwareAuthenticator())
        admin = Client()
        admin.force_login(superuser)
        reset = admin.post(f"/admin/accounts/user/{user.pk}/mfa-reset/")

    assert [r.status_code for r in (confirmed, refused, done, renewed, removed, totp_off)] == [
        200,
        401,
        200,
        200,
        204,
        204,
    ]
    assert reset.status_code == 302
    events = [
        (event.kind, event.detail.get("factor", ""))
        for event in AuthEvent.objects.filter(user=user, kind__in=MFA_KINDS).order_by("pk")
    ]
    assert events == [
        (Kind.MFA_FACTOR_ADDED, "totp"),
        (Kind.MFA_FAILED, ""),
        (Kind.MFA_RECOVERY_CODE_USED, "recovery_codes"),
        (Kind.MFA_RECOVERY_CODES_RENEWED, "recovery_codes"),
        (Kind.MFA_FACTOR_ADDED, "webauthn"),
        (Kind.MFA_FACTOR_REMOVED, "webauthn"),
        (Kind.MFA_FACTOR_REMOVED, "totp"),
        (Kind.MFA_FACTOR_ADDED, "webauthn"),
        (Kind.MFA_RESET, ""),
    ]
    assert AuthEvent.objects.get(kind=Kind.MFA_RESET).actor == superuser.username
    assert [m.subject for m in mail.outbox if m.to == [user.email]] == [
        f"{kit_settings.SITE_NAME}: {what}"
        for what in [
            "Second factor added",
            "Recovery code used",
            "Recovery codes renewed",
            "Second factor added",
            "Second factor removed",
            "Second factor removed",
            "Second factor added",
            "Second factors reset by an administrator",
        ]
    ]
