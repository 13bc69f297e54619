"""Tokens signed with the kit's real key whose time claims (`exp`, `iat`, `nbf`) are out of
range, or not numbers: refused as `token_invalid` on every route that reads a token
(Bearer and cookie on /me/, refresh and cookie refresh, verify, introspection), never a
500. Only the signature is genuine, so no other check stands in the way: the victim's
real claims with the one claim replaced."""

import base64
import hashlib
import hmac
import json

import pytest
from django.test import Client

from accounts.devices.signing import get_token_backend
from tests.security.conftest import DEVICE_ID

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/me/"
COOKIE_REFRESH_URL = "/api/v1/auth/cookie/refresh/"

# Python values, written by the kit's own encoder (json.dumps: inf as Infinity, NaN).
HOSTILE_VALUES = {
    "1e300": 1e300,
    "2**64": 2**64,
    "10**400": 10**400,
    "-1e300": -1e300,
    "inf": float("inf"),
    "-inf": float("-inf"),
    "nan": float("nan"),
    "year 10000": 253402300800,
    "string": "9999999999",
    "bool": True,
    "null": None,
    "list": [1],
}
# JSON text a hand-made token can carry: numbers the json module turns into inf or
# refuses (over Python's int-string conversion limit).
HOSTILE_JSON = {"1e999": "1e999", "5000 digits": "9" * 5000}


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed_raw(payload_json):
    """A token over exact JSON text, signed with the kit's real HS256 key."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{_b64(payload_json.encode())}"
    key = get_token_backend().config.signing_key
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def forged(claims, claim, value):
    return get_token_backend().encode({**claims, claim: value})


def forged_raw(claims, claim, json_text):
    body = json.dumps({k: v for k, v in claims.items() if k != claim})
    return signed_raw(body[:-1] + f', "{claim}": {json_text}}}')


@pytest.fixture
def token_routes(routes):
    """The attack suite's routes plus the cookie transport's."""

    def me_cookie(token):
        client = Client()
        client.cookies["access_token"] = token
        return client.get(ME_URL)

    def cookie_refresh(token):
        client = Client()
        client.cookies["refresh_token"] = token
        client.cookies["device_id"] = DEVICE_ID
        return client.post(COOKIE_REFRESH_URL)

    return {**routes, "me_cookie": me_cookie, "cookie_refresh": cookie_refresh}


def assert_refused_everywhere(token_routes, access, refresh):
    for name, token in [
        ("me", access),
        ("me_cookie", access),
        ("verify", access),
        ("introspect", access),
        ("refresh", refresh),
        ("cookie_refresh", refresh),
        ("verify", refresh),
        ("introspect", refresh),
    ]:
        response = token_routes[name](token)
        if name == "introspect":
            assert (response.status_code, response.json()) == (200, {"active": False}), name
            continue
        assert response.status_code == 401, (name, response.status_code, response.content[:200])
        assert response.json()["code"] == "token_invalid", (name, response.json())


def test_the_genuine_tokens_pass_the_cookie_routes(victim, token_routes):
    assert token_routes["me_cookie"](victim.access).status_code == 200
    assert token_routes["cookie_refresh"](victim.refresh).status_code == 200


@pytest.mark.parametrize("value", HOSTILE_VALUES)
@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_an_out_of_range_time_claim_is_token_invalid(victim, token_routes, claim, value):
    assert_refused_everywhere(
        token_routes,
        forged(victim.access_claims, claim, HOSTILE_VALUES[value]),
        forged(victim.refresh_claims, claim, HOSTILE_VALUES[value]),
    )


@pytest.mark.parametrize("text", HOSTILE_JSON)
@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_a_time_claim_the_json_module_cannot_hold_is_token_invalid(
    victim, token_routes, claim, text
):
    assert_refused_everywhere(
        token_routes,
        forged_raw(victim.access_claims, claim, HOSTILE_JSON[text]),
        forged_raw(victim.refresh_claims, claim, HOSTILE_JSON[text]),
    )


def test_a_payload_nested_too_deep_for_the_json_module_is_token_invalid(victim, token_routes):
    """Parsed only once the signature is verified: a signed token's claims can still be
    anything (a custom claim nested 1000 deep; PyJWT reports the RecursionError as a
    DecodeError)."""
    deep = "[" * 1000 + "]" * 1000
    assert_refused_everywhere(
        token_routes,
        forged_raw(victim.access_claims, "x", deep),
        forged_raw(victim.refresh_claims, "x", deep),
    )


def test_in_range_time_claims_still_pass(victim, token_routes):
    """The bounds refuse nothing the kit issues: a float exp, an nbf in the past."""
    claims = {**victim.access_claims, "exp": victim.access_claims["exp"] + 0.5, "nbf": 0}
    assert token_routes["me"](get_token_backend().encode(claims)).status_code == 200
