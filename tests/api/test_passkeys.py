"""Passkeys for apps over HTTP, with the software authenticator (tests/webauthn_authenticator.py):
enrol with a Bearer token, then sign in with the passkey alone (docs/contract.md,
"Multi-factor sign-in")."""

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from fido2.utils import websafe_decode
from rest_framework.test import APIClient

from accounts.devices.tokens import decode_access
from accounts.models import AuthEvent, DeviceSession, MfaChallenge
from tests.conftest import PASSKEY_BEGIN_URL, PASSKEY_SIGN_IN_URL, PASSKEYS_BEGIN_URL, PASSKEYS_URL
from tests.webauthn_authenticator import SoftwareAuthenticator

pytestmark = pytest.mark.django_db


@pytest.fixture
def access(sign_in):
    """The Bearer access token of `user`, signed in with the password."""
    return sign_in(device_id="laptop").json()["access"]


@pytest.fixture
def enrolled(access, authenticator, passkey_enrol):
    """`user` with one passkey, held by `authenticator`; -> the 201 body."""
    return passkey_enrol(access, authenticator).json()


@pytest.fixture
def stepped_up(enrolled, authenticator, passkey_sign_in):
    """An access token of `user` signed in with the passkey (amr hwk, user, mfa): what
    changing the factors of an account that has one needs (step-up)."""
    return passkey_sign_in(authenticator, device_id="stepped-up").json()["access"]


def _client(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _events(kind):
    return list(AuthEvent.objects.filter(kind=kind).order_by("pk"))


# --- enrol, then sign in ----------------------------------------------------------------


def test_a_passkey_enrolled_with_a_token_signs_the_user_in_with_amr_hwk_user_mfa(
    user, access, authenticator, passkey_enrol, passkey_sign_in, bearer, api_client
):
    added = passkey_enrol(access, authenticator, name="  Pixel   8 ").json()

    assert added["name"] == "Pixel 8"
    assert added["last_used_at"] is None
    assert len(added["recovery_codes"]) == 10  # the first factor brings the codes, once

    body = passkey_sign_in(authenticator, device_id="phone-2", body={"device_name": "Pixel"}).json()

    assert set(body) == {"access", "refresh", "token_type", "access_expires_in",
                         "refresh_expires_in", "device"}  # fmt: skip
    assert body["device"]["device_id"] == "phone-2"
    assert body["device"]["name"] == "Pixel"
    assert body["device"]["trust_token"]
    claims = decode_access(body["access"])
    assert claims["amr"] == ["hwk", "user", "mfa"]
    assert claims["sub"] == str(user.pk)
    assert DeviceSession.objects.get(pk=body["device"]["id"]).amr == ["hwk", "user", "mfa"]
    me = api_client.get("/api/v1/me/", **bearer(body["access"]))
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    row = Authenticator.objects.get(pk=added["id"])
    assert row.last_used_at is not None
    assert row.data["sign_count"] == 1


def test_the_options_ask_for_a_discoverable_credential_and_user_verification(
    stepped_up, authenticator
):
    creation = _client(stepped_up).post(PASSKEYS_BEGIN_URL).json()
    request = APIClient().post(PASSKEY_BEGIN_URL).json()

    options = creation["options"]
    assert options["rp"]["id"] == "testserver"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["excludeCredentials"] == [{"type": "public-key", "id": authenticator.last.id}]
    assert request["options"]["rpId"] == "testserver"
    assert request["options"]["userVerification"] == "required"
    assert "allowCredentials" not in request["options"]  # discoverable: no user named
    # The challenge token is also the WebAuthn challenge (base64url of it).
    assert websafe_decode(request["options"]["challenge"]) == request["challenge_token"].encode()


def test_the_challenge_token_may_be_left_out_of_a_registration(access, authenticator):
    client = _client(access)
    begun = client.post(PASSKEYS_BEGIN_URL).json()
    credential = authenticator.register(begun["options"])

    without = client.post(PASSKEYS_URL, {"credential": credential}, format="json")

    assert without.status_code == 201, without.content
    assert without.json()["name"] == "Passkey"


# --- refused ----------------------------------------------------------------------------


def test_a_passkey_without_user_verification_is_refused(
    access, authenticator, passkey_enrol, passkey_sign_in, user
):
    refused = passkey_enrol(access, authenticator, user_verified=False, expect=401)
    assert refused.json()["code"] == "passkey_invalid"
    assert not Authenticator.objects.filter(user=user, type="webauthn").exists()

    passkey_enrol(access, authenticator)
    refused = passkey_sign_in(authenticator, user_verified=False, expect=401)
    assert refused.json()["code"] == "passkey_invalid"
    assert _events(AuthEvent.Kind.MFA_FAILED)[-1].detail["factor"] == "webauthn"


@pytest.mark.parametrize(
    "knob",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://testserver"},
        {"rp_id": "evil.example"},
    ],
    ids=["other-origin", "http-origin", "other-rp-id"],
)
def test_a_credential_from_another_origin_or_relying_party_is_refused(
    access, authenticator, passkey_enrol, passkey_sign_in, knob, user
):
    assert passkey_enrol(access, authenticator, expect=401, **knob).json()["code"] == (
        "passkey_invalid"
    )
    assert not Authenticator.objects.filter(user=user, type="webauthn").exists()

    passkey_enrol(access, authenticator)
    assert passkey_sign_in(authenticator, expect=401, **knob).json()["code"] == "passkey_invalid"
    assert passkey_sign_in(authenticator).status_code == 200  # the passkey itself is fine


def test_the_relying_party_and_origins_come_from_the_settings(
    settings, access, authenticator, passkey_enrol, passkey_sign_in
):
    app = "android:apk-key-hash:kit-test"
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "WEBAUTHN_RP_ID": "kit.example",
        "WEBAUTHN_ORIGINS": f"https://kit.example, {app}",
    }
    begun = _client(access).post(PASSKEYS_BEGIN_URL).json()
    assert begun["options"]["rp"]["id"] == "kit.example"

    passkey_enrol(access, authenticator, origin=app)
    assert passkey_sign_in(authenticator, origin=app).status_code == 200
    assert passkey_sign_in(authenticator).status_code == 200  # https://kit.example
    refused = passkey_sign_in(authenticator, origin="https://testserver", expect=401)
    assert refused.json()["code"] == "passkey_invalid"


def test_a_credential_registered_to_another_user_cannot_be_registered_again(
    stepped_up, authenticator, make_user, sign_in, passkey_enrol, user
):
    other = make_user()
    other_access = sign_in(device_id="other", username=other.username).json()["access"]
    taken = authenticator.last

    again = passkey_enrol(other_access, SoftwareAuthenticator(), reuse=taken, expect=401)
    mine_again = passkey_enrol(stepped_up, SoftwareAuthenticator(), reuse=taken, expect=401)

    assert again.json()["code"] == mine_again.json()["code"] == "passkey_invalid"
    assert not Authenticator.objects.filter(user=other).exists()
    assert Authenticator.objects.filter(user=user, type="webauthn").count() == 1


def test_a_replayed_assertion_or_challenge_token_is_refused(access, passkey_enrol):
    # Without a sign counter (always 0), only the single-use challenge stops a replay.
    authenticator = SoftwareAuthenticator(counting=False)
    passkey_enrol(access, authenticator)
    client = APIClient()
    begun = client.post(PASSKEY_BEGIN_URL).json()
    body = {
        "challenge_token": begun["challenge_token"],
        "credential": authenticator.sign_in(begun["options"]),
        "device_id": "phone-2",
    }
    assert client.post(PASSKEY_SIGN_IN_URL, body, format="json").status_code == 200

    replayed = client.post(PASSKEY_SIGN_IN_URL, body, format="json")
    # The same assertion under a fresh challenge token: its signature covers the old one.
    fresh = client.post(PASSKEY_BEGIN_URL).json()["challenge_token"]
    moved = client.post(PASSKEY_SIGN_IN_URL, {**body, "challenge_token": fresh}, format="json")

    assert (replayed.status_code, replayed.json()["code"]) == (401, "passkey_invalid")
    assert (moved.status_code, moved.json()["code"]) == (401, "passkey_invalid")
    assert DeviceSession.objects.filter(device_id="phone-2").count() == 1


def test_a_challenge_token_dies_after_mfa_token_seconds(
    enrolled, authenticator, mfa_clock, settings
):
    client = APIClient()
    begun = client.post(PASSKEY_BEGIN_URL).json()
    credential = authenticator.sign_in(begun["options"])
    mfa_clock.advance(settings.ACCOUNTS["MFA_TOKEN_SECONDS"] + 1)

    late = client.post(
        PASSKEY_SIGN_IN_URL,
        {"challenge_token": begun["challenge_token"], "credential": credential},
        format="json",
    )

    assert (late.status_code, late.json()["code"]) == (401, "passkey_invalid")


def test_a_registration_challenge_of_another_user_is_refused(
    access, authenticator, make_user, sign_in, user
):
    other = make_user()
    other_access = sign_in(device_id="other", username=other.username).json()["access"]
    begun = _client(other_access).post(PASSKEYS_BEGIN_URL).json()
    credential = authenticator.register(begun["options"])

    stolen = _client(access).post(
        PASSKEYS_URL,
        {"credential": credential, "challenge_token": begun["challenge_token"]},
        format="json",
    )

    assert (stolen.status_code, stolen.json()["code"]) == (401, "passkey_invalid")
    assert not Authenticator.objects.filter(type="webauthn").exists()


def test_a_cloned_authenticator_is_refused_and_audited(
    enrolled, authenticator, passkey_sign_in, user
):
    clone = authenticator.clone()
    assert passkey_sign_in(authenticator).status_code == 200  # counter 1

    cloned = passkey_sign_in(clone, device_id="clone", expect=401)  # counter 1 again

    assert cloned.json()["code"] == "passkey_invalid"
    assert not DeviceSession.objects.filter(device_id="clone").exists()
    event = _events(AuthEvent.Kind.MFA_FAILED)[-1]
    assert (event.user, event.detail) == (user, {"factor": "webauthn", "reason": "sign_count"})
    assert passkey_sign_in(authenticator, counter=0, expect=401).status_code == 401  # lower
    assert passkey_sign_in(authenticator).status_code == 200  # the real one goes on: 2


def test_an_authenticator_without_a_counter_keeps_working(access, passkey_enrol, passkey_sign_in):
    counterless = SoftwareAuthenticator(counting=False)  # always 0, as synced passkeys
    passkey_enrol(access, counterless)

    assert passkey_sign_in(counterless).status_code == 200
    assert passkey_sign_in(counterless).status_code == 200


def test_the_device_limit_applies_to_a_passkey_sign_in(
    settings, enrolled, authenticator, passkey_sign_in, user
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 1, "DEVICE_LIMIT_POLICY": "reject"}
    # `user` has one session already (the "laptop" that enrolled the passkey).

    refused = passkey_sign_in(authenticator, device_id="phone-2", expect=403)

    assert refused.json()["code"] == "device_limit_reached"
    laptop = refused.json()["devices"][0]["id"]
    swapped = passkey_sign_in(authenticator, device_id="phone-2", body={"revoke_device_id": laptop})
    assert swapped.status_code == 200
    assert DeviceSession.objects.get(pk=laptop).revoked_at is not None


def test_an_inactive_user_cannot_sign_in_with_a_passkey(
    enrolled, authenticator, passkey_sign_in, user
):
    user.is_active = False
    user.save()

    assert passkey_sign_in(authenticator, expect=401).json()["code"] == "passkey_invalid"


@pytest.mark.parametrize(
    "credential",
    [
        {},
        {"id": "AA", "rawId": "AA", "response": {}},
        {"id": "!!", "rawId": "!!", "type": "public-key", "response": {"clientDataJSON": 7}},
        {"id": "AA", "rawId": "AB", "response": {"clientDataJSON": "e30"}},
    ],
)
def test_a_malformed_credential_is_a_401_never_a_500(enrolled, access, credential):
    token = APIClient().post(PASSKEY_BEGIN_URL).json()["challenge_token"]

    sign_in = APIClient().post(
        PASSKEY_SIGN_IN_URL, {"challenge_token": token, "credential": credential}, format="json"
    )
    enrol = _client(access).post(PASSKEYS_URL, {"credential": credential}, format="json")

    assert (sign_in.status_code, sign_in.json()["code"]) == (401, "passkey_invalid")
    assert (enrol.status_code, enrol.json()["code"]) == (401, "passkey_invalid")


def test_a_credential_that_is_not_an_object_is_a_400(access):
    token = APIClient().post(PASSKEY_BEGIN_URL).json()["challenge_token"]

    sign_in = APIClient().post(
        PASSKEY_SIGN_IN_URL, {"challenge_token": token, "credential": "x"}, format="json"
    )

    assert (sign_in.status_code, sign_in.json()["code"]) == (400, "invalid")
    assert "credential" in sign_in.json()["errors"]


# --- the list, removal, audit and e-mail ------------------------------------------------


def test_enrolment_and_removal_are_audited_and_mailed(
    access, authenticator, passkey_enrol, passkey_sign_in, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        added = passkey_enrol(access, authenticator).json()
    access = passkey_sign_in(authenticator).json()["access"]  # step-up
    assert _events(AuthEvent.Kind.MFA_FACTOR_ADDED)[-1].detail == {
        "factor": "webauthn",
        "passkey_id": added["id"],
    }
    assert [m.to for m in mail.outbox] == [[user.email]]

    with django_capture_on_commit_callbacks(execute=True):
        removed = _client(access).delete(f"{PASSKEYS_URL}{added['id']}/")

    assert removed.status_code == 204
    assert _events(AuthEvent.Kind.MFA_FACTOR_REMOVED)[-1].detail == {
        "factor": "webauthn",
        "passkey_id": added["id"],
    }
    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == [user.email]


def test_another_users_passkey_is_not_found_and_stays(
    enrolled, make_user, sign_in, authenticator, passkey_sign_in
):
    other = make_user()
    other_access = sign_in(device_id="other", username=other.username).json()["access"]

    refused = _client(other_access).delete(f"{PASSKEYS_URL}{enrolled['id']}/")
    unknown = _client(other_access).delete(f"{PASSKEYS_URL}999999/")

    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert passkey_sign_in(authenticator).status_code == 200


def test_a_removed_passkey_no_longer_signs_in_and_the_last_takes_the_codes(
    stepped_up, enrolled, authenticator, passkey_sign_in, user
):
    assert _client(stepped_up).delete(f"{PASSKEYS_URL}{enrolled['id']}/").status_code == 204

    assert passkey_sign_in(authenticator, expect=401).json()["code"] == "passkey_invalid"
    assert not Authenticator.objects.filter(user=user).exists()  # recovery codes gone too


def test_a_second_passkey_brings_no_new_recovery_codes(stepped_up, enrolled, passkey_enrol):
    second = passkey_enrol(stepped_up, SoftwareAuthenticator(), name="Laptop").json()

    assert second["recovery_codes"] == []
    assert len(enrolled["recovery_codes"]) == 10


def test_begin_leaves_a_single_use_challenge_row_holding_only_a_hash(access):
    begun = APIClient().post(PASSKEY_BEGIN_URL).json()

    (row,) = MfaChallenge.objects.filter(kind=MfaChallenge.Kind.PASSKEY_SIGN_IN)
    assert row.user is None
    assert begun["challenge_token"] not in row.token_hash
    assert row.used_at is None


def test_the_mfa_status_lists_the_passkeys(access, enrolled, authenticator, passkey_sign_in):
    passkey_sign_in(authenticator)

    status = _client(access).get("/api/v1/mfa/").json()

    assert status["totp"] is False
    assert status["recovery_codes_left"] == 10
    (listed,) = status["passkeys"]
    assert set(listed) == {"id", "name", "created_at", "last_used_at"}
    assert (listed["id"], listed["name"]) == (enrolled["id"], "My phone")
    assert listed["created_at"] == enrolled["created_at"]
    assert listed["last_used_at"] is not None
