"""The token settings on the real routes, as an app sees them: encrypted tokens (JWT_ENCRYPT)
through sign-in, /me, refresh, verify and introspection; a refresh with a token of an old
`kid` after a key rotation; `last_used_at` written by a refresh."""

import base64
import secrets
from datetime import timedelta

import jwt
import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import DeviceSession

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
VERIFY = "/api/v1/auth/token/verify/"
INTROSPECT = "/api/v1/service/introspect/"
HS_SECRET = "s" * 64


def _encryption_key():
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def _is_jwe(token):
    """Compact JWE has five parts (a signed JWT three)."""
    return len(token.split(".")) == 5


@pytest.fixture
def introspect(api_client, make_api_key):
    _, raw_key = make_api_key(name="gateway", scopes=["tokens:introspect"])

    def _introspect(token):
        response = api_client.post(
            INTROSPECT, {"token": token}, format="json", HTTP_X_API_KEY=raw_key
        )
        assert response.status_code == 200, response.content
        return response.json()

    return _introspect


# --- JWE through the routes ---------------------------------------------------------------


@pytest.fixture
def encrypted(jwt_config):
    key = _encryption_key()
    jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET, JWT_ENCRYPT=True, JWT_ENCRYPTION_KEY=key)
    return key


def test_with_jwt_encrypt_every_route_issues_and_takes_encrypted_tokens(
    encrypted, api_client, user, sign_in, bearer, refresh, introspect
):
    body = sign_in().json()
    assert _is_jwe(body["access"])
    assert _is_jwe(body["refresh"])
    for token in (body["access"], body["refresh"]):
        with pytest.raises(jwt.DecodeError):
            jwt.decode(token, options={"verify_signature": False})
        assert user.username not in token
        assert body["device"]["id"] not in token

    me = api_client.get(ME, **bearer(body["access"]))
    assert (me.status_code, me.json()["username"]) == (200, user.username)

    verified = api_client.post(VERIFY, {"token": body["access"]}, format="json")
    assert verified.json() == {"valid": True, "token_type": "access"}

    seen = introspect(body["access"])
    assert seen["active"] is True
    assert (seen["sub"], seen["sid"], seen["username"]) == (
        str(user.pk),
        body["device"]["id"],
        user.username,
    )

    rotated = refresh(body["refresh"])
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()
    assert _is_jwe(new["access"])
    assert _is_jwe(new["refresh"])
    assert api_client.get(ME, **bearer(new["access"])).status_code == 200
    # The exchanged refresh token is spent; the old access token lives on till it expires.
    assert refresh(body["refresh"]).json()["code"] == "refresh_reused"


def test_with_jwt_encrypt_the_cookie_transport_carries_encrypted_tokens(encrypted, user, password):
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["csrftoken"] = "c" * 32
    csrf = {"HTTP_X_CSRFTOKEN": "c" * 32}
    signed_in = browser.post(
        "/api/v1/auth/cookie/login/",
        {"username": user.username, "password": password},
        content_type="application/json",
        **csrf,
    )
    assert signed_in.status_code == 200, signed_in.content
    assert _is_jwe(browser.cookies["access_token"].value)
    assert browser.get(ME).json()["username"] == user.username

    assert browser.post("/api/v1/auth/cookie/refresh/", **csrf).status_code == 200
    assert _is_jwe(browser.cookies["access_token"].value)
    assert browser.get(ME).status_code == 200


def test_with_jwt_encrypt_a_plain_signed_token_is_refused_everywhere(
    jwt_config, api_client, sign_in, bearer, refresh, introspect
):
    """Signed with the right key but not encrypted: refused like a forged one (and the
    other way round, once encryption is off)."""
    jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    plain = sign_in().json()
    jwt_config(
        "HS256", JWT_SIGNING_KEY=HS_SECRET, JWT_ENCRYPT=True, JWT_ENCRYPTION_KEY=_encryption_key()
    )
    encrypted = sign_in(device_id="phone-2").json()

    me = api_client.get(ME, **bearer(plain["access"]))
    assert (me.status_code, me.json()["code"]) == (401, "token_invalid")
    assert refresh(plain["refresh"]).json()["code"] == "token_invalid"
    assert introspect(plain["access"]) == {"active": False}
    verified = api_client.post(VERIFY, {"token": plain["access"]}, format="json")
    assert (verified.status_code, verified.json()["code"]) == (401, "token_invalid")

    jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    me = api_client.get(ME, **bearer(encrypted["access"]))
    assert (me.status_code, me.json()["code"]) == (401, "token_invalid")


def test_with_jwt_encrypt_a_token_of_another_encryption_key_is_refused(
    jwt_config, api_client, sign_in, bearer, refresh, introspect
):
    jwt_config(
        "HS256", JWT_SIGNING_KEY=HS_SECRET, JWT_ENCRYPT=True, JWT_ENCRYPTION_KEY=_encryption_key()
    )
    other = sign_in().json()
    jwt_config(
        "HS256", JWT_SIGNING_KEY=HS_SECRET, JWT_ENCRYPT=True, JWT_ENCRYPTION_KEY=_encryption_key()
    )

    assert api_client.get(ME, **bearer(other["access"])).json()["code"] == "token_invalid"
    assert refresh(other["refresh"]).json()["code"] == "token_invalid"
    assert introspect(other["access"]) == {"active": False}


# --- refresh across a signing-key rotation ----------------------------------------------


@pytest.fixture
def rotation(jwt_config, pem_keys):
    """old() signs with key "a"; new(keep_old) signs with "b", "a" still verifying if
    keep_old."""
    old_private, old_public = pem_keys["RS256"]["old"]
    new_private, new_public = pem_keys["RS256"]["current"]

    class Rotation:
        @staticmethod
        def old():
            jwt_config(
                "RS256", JWT_SIGNING_KEY=old_private, JWT_VERIFYING_KEY=old_public, JWT_KEY_ID="a"
            )

        @staticmethod
        def new(keep_old=True):
            jwt_config(
                "RS256",
                JWT_SIGNING_KEY=new_private,
                JWT_VERIFYING_KEY=new_public,
                JWT_KEY_ID="b",
                JWT_OLD_VERIFYING_KEYS=[f"a={old_public}"] if keep_old else [],
            )

    return Rotation


def test_a_refresh_token_of_the_old_kid_refreshes_into_the_new_key(
    rotation, api_client, sign_in, refresh, bearer
):
    """During the rotation an app refreshes as usual and gets tokens of the new key; once
    the old key is dropped the app's session lives on."""
    rotation.old()
    before = sign_in().json()
    assert jwt.get_unverified_header(before["refresh"])["kid"] == "a"

    rotation.new(keep_old=True)
    rotated = refresh(before["refresh"])
    assert rotated.status_code == 200, rotated.content
    after = rotated.json()
    assert jwt.get_unverified_header(after["access"])["kid"] == "b"
    assert jwt.get_unverified_header(after["refresh"])["kid"] == "b"
    assert api_client.get(ME, **bearer(after["access"])).status_code == 200

    rotation.new(keep_old=False)
    assert api_client.get(ME, **bearer(after["access"])).status_code == 200
    assert refresh(after["refresh"]).status_code == 200


def test_a_refresh_token_of_a_dropped_kid_is_refused(rotation, sign_in, refresh):
    """The control: without the old key listed, the same refresh is token_invalid."""
    rotation.old()
    before = sign_in().json()

    rotation.new(keep_old=False)
    response = refresh(before["refresh"])

    assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


# --- last_used_at --------------------------------------------------------------------------


def _age_the_session(device_id):
    """The device was last used an hour ago (as if the app slept)."""
    hour_ago = timezone.now() - timedelta(hours=1)
    DeviceSession.objects.filter(pk=device_id).update(last_used_at=hour_ago)
    return hour_ago


def test_a_refresh_writes_last_used_at(api_client, sign_in, refresh, bearer):
    body = sign_in().json()
    hour_ago = _age_the_session(body["device"]["id"])
    started = timezone.now()

    new = refresh(body["refresh"]).json()

    written = DeviceSession.objects.get(pk=body["device"]["id"]).last_used_at
    assert written >= started > hour_ago
    listed = api_client.get("/api/v1/devices/", **bearer(new["access"])).json()
    [device] = [d for d in listed if d["id"] == body["device"]["id"]]
    assert device["last_used_at"] == written.isoformat().replace("+00:00", "Z")


def test_a_cookie_refresh_writes_last_used_at(user, password):
    browser = Client()
    browser.post(
        "/api/v1/auth/cookie/login/",
        {"username": user.username, "password": password},
        content_type="application/json",
    )
    session = DeviceSession.objects.get(user=user)
    hour_ago = _age_the_session(session.pk)

    assert browser.post("/api/v1/auth/cookie/refresh/").status_code == 200

    assert DeviceSession.objects.get(pk=session.pk).last_used_at > hour_ago
