"""JWT attacks against the real routes: GET /me/ (Bearer), POST /auth/token/refresh/,
/auth/token/verify/ and the service introspection route.

Every forged token carries the victim's real claims (a live `sub` and `sid`), so it would
be accepted if the one defence under test were removed: the genuine tokens pass the same
routes (`test_the_genuine_tokens_pass_every_route`). Refusals are 401 with the contract's
code (introspection answers `{"active": false}`), never a 500.
The backend-level checks of the same attacks are in tests/accounts/devices/test_signing.py.
"""

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from django.contrib.auth import get_user_model
from django.db import connection

from accounts.devices.signing import LEEWAY_SECONDS, get_token_backend
from accounts.models import DeviceSession
from tests.conftest import make_pem_key_pair
from tests.security.conftest import DEVICE_ID, b64, hs_sign, unverified_claims

pytestmark = pytest.mark.django_db

ACCESS_ROUTES = ("me", "verify", "introspect")
REFRESH_ROUTES = ("refresh", "verify", "introspect")


def assert_refused(routes, token, *, via, code="token_invalid"):
    """`token` is refused on each route of `via` with `code`."""
    for name in via:
        response = routes[name](token)
        if name == "introspect":
            assert response.status_code == 200, (name, response.content)
            assert response.json() == {"active": False}, name
            continue
        assert response.status_code == 401, (name, response.status_code, response.content[:300])
        assert response.json()["code"] == code, (name, response.json())


def real_secret():
    """The HS key the kit signs with (SECRET_KEY unless JWT_SIGNING_KEY is set)."""
    return get_token_backend().config.signing_key


def signed_with_real_key(payload, header=None):
    """A token the kit's own key signed: only the claim checks stand in the way."""
    return hs_sign(header or {"alg": "HS256", "typ": "JWT"}, payload, real_secret())


def test_the_genuine_tokens_pass_every_route(victim, routes):
    assert routes["me"](victim.access).status_code == 200
    for token, kind in ((victim.access, "access"), (victim.refresh, "refresh")):
        assert routes["verify"](token).json() == {"valid": True, "token_type": kind}
        assert routes["introspect"](token).json()["active"] is True
    assert routes["refresh"](victim.refresh).status_code == 200


# --- algorithm ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "none ", ""])
def test_alg_none_in_every_spelling_is_refused(victim, routes, alg):
    header = {**victim.header, "alg": alg}
    for claims, via in (
        (victim.access_claims, ACCESS_ROUTES),
        (victim.refresh_claims, REFRESH_ROUTES),
    ):
        real_signature = victim.access.rsplit(".", 1)[1]
        for signature in ("", real_signature):
            token = f"{b64(header)}.{b64(claims)}.{signature}"
            assert_refused(routes, token, via=via)
        # No algorithm at all in the header.
        headerless = {k: v for k, v in header.items() if k != "alg"}
        assert_refused(routes, f"{b64(headerless)}.{b64(claims)}.", via=via)
    assert routes["me"](victim.access).status_code == 200


def test_hs256_token_signed_with_the_rs256_public_key_is_refused(
    jwt_config, pem_keys, sign_in, routes
):
    private_pem, public_pem = pem_keys["RS256"]["current"]
    jwt_config("RS256", JWT_SIGNING_KEY=private_pem, JWT_VERIFYING_KEY=public_pem)
    pair = sign_in(device_id=DEVICE_ID).json()
    assert jwt.get_unverified_header(pair["access"])["alg"] == "RS256"
    for raw, via in ((pair["access"], ACCESS_ROUTES), (pair["refresh"], REFRESH_ROUTES)):
        claims = unverified_claims(raw)
        for key in (public_pem, public_pem.strip(), public_pem.replace("\n", "\\n")):
            forged = hs_sign({"alg": "HS256", "typ": "JWT"}, claims, key)
            assert_refused(routes, forged, via=via)
    assert routes["me"](pair["access"]).status_code == 200


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_another_hmac_algorithm_with_the_real_secret_is_refused(victim, routes, algorithm):
    digest = {"HS384": hashlib.sha384, "HS512": hashlib.sha512}[algorithm]
    header = {**victim.header, "alg": algorithm}
    assert_refused(
        routes, hs_sign(header, victim.access_claims, real_secret(), digest), via=ACCESS_ROUTES
    )


# --- key selection headers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kid", "attacker_key"),
    [
        ("../../../../../../dev/null", b""),
        ("/dev/null", b""),
        ("../../config/settings.py", b""),
        ("' OR '1'='1", b"key"),
        ("x' UNION SELECT 'key' --", b"key"),
        ("1; DROP TABLE accounts_user; --", b"key"),
        ("%00", b""),
    ],
)
def test_kid_path_traversal_or_sql_injection_is_refused(victim, routes, kid, attacker_key):
    """The kid only picks among configured keys: no file is read, no query is built."""
    header = {**victim.header, "kid": kid}
    for claims, via in (
        (victim.access_claims, ACCESS_ROUTES),
        (victim.refresh_claims, REFRESH_ROUTES),
    ):
        assert_refused(routes, hs_sign(header, claims, attacker_key), via=via)
        # Even with the real key the unknown kid is refused: the kid names the key.
        assert_refused(routes, hs_sign(header, claims, real_secret()), via=via)
    assert get_user_model().objects.filter(pk=victim.user.pk).exists()
    assert get_user_model()._meta.db_table in connection.introspection.table_names()


def test_jku_x5u_and_embedded_jwk_headers_are_ignored(jwt_config, pem_keys, sign_in, routes):
    private_pem, public_pem = pem_keys["RS256"]["current"]
    jwt_config("RS256", JWT_KEY_ID="k1", JWT_SIGNING_KEY=private_pem, JWT_VERIFYING_KEY=public_pem)
    pair = sign_in(device_id=DEVICE_ID).json()
    attacker_private, attacker_public = make_pem_key_pair("RS256")
    attacker_jwk = json.loads(
        jwt.algorithms.RSAAlgorithm.to_jwk(
            serialization.load_pem_public_key(attacker_public.encode())
        )
    )
    hostile_headers = [
        {"kid": "k1", "jku": "http://127.0.0.1:9/jwks.json"},
        {"kid": "k1", "x5u": "http://127.0.0.1:9/cert.pem"},
        {"kid": "k1", "jwk": attacker_jwk},
        {"jwk": attacker_jwk},
        {"kid": "attacker", "jku": "http://127.0.0.1:9/jwks.json", "jwk": attacker_jwk},
    ]
    for raw, via in ((pair["access"], ACCESS_ROUTES), (pair["refresh"], REFRESH_ROUTES)):
        claims = unverified_claims(raw)
        for headers in hostile_headers:
            forged = jwt.encode(claims, attacker_private, algorithm="RS256", headers=headers)
            assert_refused(routes, forged, via=via)
    assert routes["me"](pair["access"]).status_code == 200


# --- tampering ---------------------------------------------------------------------------


def _flip_first(segment):
    return ("B" if segment[0] == "A" else "A") + segment[1:]


def test_tampered_payload_is_refused(victim, routes, make_user):
    admin = make_user(username="root", is_staff=True, is_superuser=True)
    header, _, signature = victim.access.split(".")
    promoted = {**victim.access_claims, "is_staff": True, "is_superuser": True}
    other_user = {**victim.access_claims, "sub": str(admin.pk), "username": "root"}
    longer_life = {**victim.access_claims, "exp": victim.access_claims["exp"] + 86400}
    for claims in (promoted, other_user, longer_life):
        assert_refused(routes, f"{header}.{b64(claims)}.{signature}", via=ACCESS_ROUTES)
    r_header, _, r_signature = victim.refresh.split(".")
    other_refresh = {**victim.refresh_claims, "sub": str(admin.pk)}
    assert_refused(routes, f"{r_header}.{b64(other_refresh)}.{r_signature}", via=REFRESH_ROUTES)


def test_tampered_signature_is_refused(victim, routes):
    for raw, via in ((victim.access, ACCESS_ROUTES), (victim.refresh, REFRESH_ROUTES)):
        header, payload, signature = raw.split(".")
        for bad in (
            f"{header}.{payload}.{_flip_first(signature)}",
            f"{header}.{payload}.{signature[::-1]}",
            f"{header}.{payload}.",
            f"{header}.{payload}",
            f"{header}.{payload}.{signature}.{signature}",
        ):
            assert_refused(routes, bad, via=via)
    assert DeviceSession.objects.get().revoked_at is None


# --- times, issuer, audience --------------------------------------------------------------


def test_expired_token_is_refused(victim, routes):
    past = int(time.time()) - LEEWAY_SECONDS - 60
    backend = get_token_backend()
    for claims, via in (
        (victim.access_claims, ACCESS_ROUTES),
        (victim.refresh_claims, REFRESH_ROUTES),
    ):
        expired = backend.encode({**claims, "iat": past - 300, "exp": past})
        assert_refused(routes, expired, via=via)


def test_a_token_accepted_before_is_refused_once_it_expires(victim, routes, monkeypatch):
    """Verified access tokens are remembered per process (accounts.devices.tokens.decode_access);
    the expiry is still checked on every request."""
    soon = int(time.time()) + 30
    access = get_token_backend().encode({**victim.access_claims, "exp": soon})
    assert routes["me"](access).status_code == 200  # verified, now remembered
    later = soon + LEEWAY_SECONDS + 1
    monkeypatch.setattr("accounts.devices.tokens.time.time", lambda: later)
    monkeypatch.setattr(
        "rest_framework_simplejwt.tokens.aware_utcnow",
        lambda: datetime.fromtimestamp(later, tz=UTC),
    )
    assert_refused(routes, access, via=ACCESS_ROUTES)


def test_token_not_valid_before_a_future_nbf_is_refused(victim, routes):
    backend = get_token_backend()
    later = int(time.time()) + 120
    for claims, via in (
        (victim.access_claims, ACCESS_ROUTES),
        (victim.refresh_claims, REFRESH_ROUTES),
    ):
        assert_refused(routes, backend.encode({**claims, "nbf": later}), via=via)


def test_wrong_issuer_or_audience_is_refused(jwt_config, sign_in, routes):
    jwt_config("HS256", JWT_SIGNING_KEY="k" * 64, JWT_ISSUER="kit", JWT_AUDIENCE="kit-api")
    pair = sign_in(device_id=DEVICE_ID).json()
    assert (unverified_claims(pair["access"])["iss"], unverified_claims(pair["access"])["aud"]) == (
        "kit",
        "kit-api",
    )
    for raw, via in ((pair["access"], ACCESS_ROUTES), (pair["refresh"], REFRESH_ROUTES)):
        claims = unverified_claims(raw)
        without = {k: v for k, v in claims.items() if k not in ("iss", "aud")}
        for bad in (
            {**claims, "iss": "evil"},
            {**claims, "aud": "other-api"},
            {**claims, "aud": ["other-api"]},
            {k: v for k, v in claims.items() if k != "iss"},
            {k: v for k, v in claims.items() if k != "aud"},
            without,
        ):
            assert_refused(routes, hs_sign({"alg": "HS256", "typ": "JWT"}, bad, "k" * 64), via=via)
    assert routes["me"](pair["access"]).status_code == 200


# --- token types ---------------------------------------------------------------------------


def test_refresh_token_used_as_access_is_refused(victim, routes):
    assert_refused(routes, victim.refresh, via=("me",))
    assert routes["me"](victim.access).status_code == 200


def test_access_token_used_as_refresh_is_refused(victim, routes):
    assert_refused(routes, victim.access, via=("refresh",))
    assert DeviceSession.objects.get().revoked_at is None
    assert routes["refresh"](victim.refresh).status_code == 200


@pytest.mark.parametrize("token_type", ["", "Access", "id", None, 1, ["access"]])
def test_unknown_token_type_is_refused(victim, routes, token_type):
    claims = {**victim.access_claims, "token_type": token_type}
    assert_refused(routes, signed_with_real_key(claims), via=ACCESS_ROUTES)


# --- users and sessions --------------------------------------------------------------------


def test_token_of_a_deleted_user_is_refused(victim, routes):
    victim.user.delete()
    assert_refused(routes, victim.access, via=ACCESS_ROUTES, code="session_revoked")
    assert_refused(routes, victim.refresh, via=REFRESH_ROUTES, code="session_revoked")


def test_token_of_a_deactivated_user_is_refused(victim, routes):
    victim.user.is_active = False
    victim.user.save()
    assert_refused(routes, victim.access, via=ACCESS_ROUTES, code="session_revoked")
    assert_refused(routes, victim.refresh, via=REFRESH_ROUTES, code="session_revoked")


def test_token_of_a_user_deactivated_by_a_bulk_update_is_refused(victim, routes):
    """No model signal runs for a queryset update: the session check reads is_active."""
    get_user_model().objects.filter(pk=victim.user.pk).update(is_active=False)
    assert_refused(routes, victim.access, via=ACCESS_ROUTES, code="session_revoked")
    assert_refused(routes, victim.refresh, via=REFRESH_ROUTES, code="session_revoked")


def test_sid_of_another_users_session_is_refused(victim, routes, make_user, password, sign_in):
    """Even with the signing key, a token cannot borrow another user's live session."""
    mallory = make_user(username="mallory")
    mallory_pair = sign_in(device_id="laptop", username="mallory").json()
    mallory_sid = unverified_claims(mallory_pair["access"])["sid"]
    session = DeviceSession.objects.get(pk=mallory_sid)
    assert session.user == mallory

    borrowed_access = signed_with_real_key({**victim.access_claims, "sid": mallory_sid})
    assert_refused(routes, borrowed_access, via=ACCESS_ROUTES, code="session_revoked")
    borrowed_refresh = signed_with_real_key(
        {**victim.refresh_claims, "sid": mallory_sid, "jti": session.refresh_jti}
    )
    for name in ("refresh", "verify"):
        response = (
            routes[name](borrowed_refresh, device_id="laptop")
            if name == "refresh"
            else routes[name](borrowed_refresh)
        )
        assert response.status_code == 401, name
        assert response.json()["code"] == "session_revoked", name
    assert routes["introspect"](borrowed_refresh).json() == {"active": False}
    # Mallory's own session is untouched by the attempt.
    assert routes["me"](mallory_pair["access"]).json()["username"] == "mallory"


def test_sid_of_no_session_is_refused(victim, routes):
    unknown = signed_with_real_key({**victim.access_claims, "sid": str(uuid.uuid4())})
    assert_refused(routes, unknown, via=ACCESS_ROUTES, code="session_revoked")


# --- shape of the token -------------------------------------------------------------------


def test_a_100_kb_token_is_refused(victim, routes):
    padded_access = signed_with_real_key({**victim.access_claims, "padding": "p" * 100 * 1024})
    padded_refresh = signed_with_real_key({**victim.refresh_claims, "padding": "p" * 100 * 1024})
    assert len(padded_access) > 100 * 1024
    assert_refused(routes, padded_access, via=("me", "verify"))
    assert_refused(routes, padded_refresh, via=("refresh", "verify"))
    # Introspection caps the field: a 400 `invalid`, not a 500 nor a parse of 100 KB.
    response = routes["introspect"](padded_access)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[1, 2, 3]", b'"a string"', b"null", b"42", b"true", b"{", b"\xff\xfe"],
    ids=repr,
)
def test_non_json_or_non_object_payload_is_refused(routes, victim, payload):
    assert_refused(routes, signed_with_real_key(payload), via=("me", "verify", "introspect"))
    response = routes["refresh"](signed_with_real_key(payload))
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


@pytest.mark.parametrize("sub", ["int", ["x"], {"id": 1}, None, True, 1.5, "abc", ""])
def test_non_string_or_malformed_sub_is_refused(victim, routes, sub):
    value = int(victim.user.pk) if sub == "int" else sub
    for claims, via in (
        (victim.access_claims, ACCESS_ROUTES),
        (victim.refresh_claims, REFRESH_ROUTES),
    ):
        assert_refused(routes, signed_with_real_key({**claims, "sub": value}), via=via)


@pytest.mark.parametrize("sid", ["missing", None, 7, "not-a-uuid", ["x"], ""])
def test_missing_or_malformed_sid_is_refused(victim, routes, sid):
    for claims, via in (
        (victim.access_claims, ACCESS_ROUTES),
        (victim.refresh_claims, REFRESH_ROUTES),
    ):
        forged = (
            {k: v for k, v in claims.items() if k != "sid"}
            if sid == "missing"
            else {**claims, "sid": sid}
        )
        assert_refused(routes, signed_with_real_key(forged), via=via)


@pytest.mark.parametrize(
    "header",
    [b"not json", b"[]", b"null", {"alg": "HS256", "crit": ["exp"]}],
    ids=repr,
)
def test_malformed_header_is_refused(victim, routes, header):
    signing_input = f"{b64(header)}.{b64(victim.access_claims)}"
    signature = hmac.new(real_secret(), signing_input.encode(), hashlib.sha256).digest()
    assert_refused(routes, f"{signing_input}.{b64(signature)}", via=ACCESS_ROUTES)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer  ", "Bearer a b", "Bearer \x00", "bearer x.y.z", "Bearer é.é.é"],
)
def test_malformed_bearer_header_is_refused(api_client, authorization):
    """The Bearer scheme with no usable token is a bad token (token_invalid), not a
    request without credentials (not_authenticated, for other schemes)."""
    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=authorization)
    assert (response.status_code, response.json()["code"]) == (401, "token_invalid")
    assert response["WWW-Authenticate"].startswith("Bearer")
