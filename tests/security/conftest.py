"""Fixtures of the attack suites: a signed-in victim and the routes that read tokens."""

import base64
import hashlib
import hmac
import json

import jwt
import pytest

ME_URL = "/api/v1/me/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
VERIFY_URL = "/api/v1/auth/token/verify/"
INTROSPECT_URL = "/api/v1/service/introspect/"
DEVICE_ID = "phone-1"


def b64(data):
    """base64url without padding of bytes, or of a value as JSON."""
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs_sign(header, payload, secret, digest=hashlib.sha256):
    """A compact JWS signed by hand (so any header or payload can be written)."""
    header_part = header if isinstance(header, str) else b64(header)
    payload_part = payload if isinstance(payload, str) else b64(payload)
    signing_input = f"{header_part}.{payload_part}"
    key = secret if isinstance(secret, bytes) else secret.encode()
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def unverified_claims(token):
    return jwt.decode(token, options={"verify_signature": False})


class Victim:
    """A user signed in on one device: their real pair and its claims."""

    def __init__(self, user, pair):
        self.user = user
        self.access = pair["access"]
        self.refresh = pair["refresh"]
        self.access_claims = unverified_claims(self.access)
        self.refresh_claims = unverified_claims(self.refresh)
        self.header = jwt.get_unverified_header(self.access)


@pytest.fixture
def victim(db, user, sign_in):
    return Victim(user, sign_in(device_id=DEVICE_ID).json())


@pytest.fixture
def introspection_key(make_api_key):
    return make_api_key(name="gateway", scopes=["tokens:introspect"])[1]


@pytest.fixture
def routes(api_client, introspection_key):
    """Each route that reads a token, called with one: -> the response."""

    def me(token):
        return api_client.get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {token}")

    def refresh(token, device_id=DEVICE_ID):
        return api_client.post(
            REFRESH_URL, {"refresh": token, "device_id": device_id}, format="json"
        )

    def verify(token):
        return api_client.post(VERIFY_URL, {"token": token}, format="json")

    def introspect(token):
        return api_client.post(
            INTROSPECT_URL, {"token": token}, format="json", HTTP_X_API_KEY=introspection_key
        )

    return {"me": me, "refresh": refresh, "verify": verify, "introspect": introspect}
