"""accounts.devices.signing: every algorithm, key rotation by kid, and every way in refused."""

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

from accounts.checks import check_jwt_keys
from accounts.devices import signing
from accounts.devices.keys import key_thumbprint
from accounts.devices.signing import LEEWAY_SECONDS, get_token_backend
from tests.conftest import make_pem_key_pair

ALL_ALGORITHMS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]
HS_SECRET = "s" * 64
OLD_HS_SECRET = "o" * 64


def claims(**overrides):
    now = int(time.time())
    values = {"sub": "42", "exp": now + 300, "iat": now, "jti": uuid.uuid4().hex}
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def b64(data):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def keys_for(algorithm, pem_keys, which="current"):
    """Settings kwargs for the signing key of `algorithm` ("current" or "old" key)."""
    if algorithm.startswith("HS"):
        return {"JWT_SIGNING_KEY": HS_SECRET if which == "current" else OLD_HS_SECRET}
    private_pem, public_pem = pem_keys[algorithm][which]
    return {"JWT_SIGNING_KEY": private_pem, "JWT_VERIFYING_KEY": public_pem}


def verifying_value(algorithm, pem_keys, which):
    return OLD_HS_SECRET if algorithm.startswith("HS") else pem_keys[algorithm][which][1]


def header_of(token):
    return jwt.get_unverified_header(token)


# ---------------------------------------------------------------------------------------
# Round trips and key formats
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ALL_ALGORITHMS)
def test_round_trip_for_every_algorithm(jwt_config, pem_keys, algorithm):
    backend = jwt_config(algorithm, JWT_KEY_ID="k1", **keys_for(algorithm, pem_keys))
    payload = claims(token_type="access", sid="abc")

    token = backend.encode(payload)

    assert header_of(token) == {"alg": algorithm, "kid": "k1", "typ": "JWT"}
    assert backend.decode(token) == payload


@pytest.mark.parametrize("algorithm", ALL_ALGORITHMS)
def test_a_token_verifies_with_plain_pyjwt_and_is_its_own_encoding(jwt_config, pem_keys, algorithm):
    """The backend signs with a key prepared once, not through `jwt.encode`: the token is
    still what `jwt.encode` writes (byte for byte where the algorithm is deterministic;
    ECDSA signatures are random) and verifies with PyJWT alone."""
    backend = jwt_config(algorithm, JWT_KEY_ID="k1", **keys_for(algorithm, pem_keys))
    payload = claims(token_type="access", sid="abc", username="ana")

    token = backend.encode(payload)

    verifying = HS_SECRET if algorithm.startswith("HS") else pem_keys[algorithm]["current"][1]
    assert jwt.decode(token, verifying, algorithms=[algorithm]) == payload
    written = jwt.encode(
        payload, backend.config.signing_key, algorithm=algorithm, headers={"kid": "k1"}
    )
    if algorithm.startswith("ES"):
        assert token.rsplit(".", 1)[0] == written.rsplit(".", 1)[0]
    else:
        assert token == written


def test_without_key_id_no_kid_is_written_and_the_current_key_verifies(jwt_config):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    token = backend.encode(claims())
    assert "kid" not in header_of(token)
    assert backend.decode(token)["sub"] == "42"


def test_hs_signing_key_defaults_to_secret_key(jwt_config, settings):
    token = jwt_config("HS256").encode(claims())
    jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"])  # raises if not


def test_keys_as_pem_text_with_escaped_newlines(jwt_config, pem_keys):
    private_pem, public_pem = pem_keys["ES256"]["current"]
    backend = jwt_config(
        "ES256",
        JWT_SIGNING_KEY=private_pem.replace("\n", "\\n"),
        JWT_VERIFYING_KEY=public_pem.replace("\n", "\\n"),
    )
    token = backend.encode(claims())
    jwt.decode(token, public_pem, algorithms=["ES256"])
    assert backend.decode(token)["sub"] == "42"


def test_keys_as_absolute_and_project_relative_file_paths(jwt_config, pem_keys, tmp_path, settings):
    private_pem, public_pem = pem_keys["RS256"]["current"]
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "private.pem").write_text(private_pem)
    (tmp_path / "public.pem").write_text(public_pem)
    settings.BASE_DIR = tmp_path

    backend = jwt_config(
        "RS256",
        JWT_SIGNING_KEY="keys/private.pem",
        JWT_VERIFYING_KEY=str(tmp_path / "public.pem"),
    )

    token = backend.encode(claims())
    jwt.decode(token, public_pem, algorithms=["RS256"])
    assert backend.decode(token)["sub"] == "42"


def test_verifying_key_is_derived_from_the_private_key_when_not_given(jwt_config, pem_keys):
    private_pem, public_pem = pem_keys["ES384"]["current"]
    backend = jwt_config("ES384", JWT_SIGNING_KEY=private_pem)
    token = backend.encode(claims())
    jwt.decode(token, public_pem, algorithms=["ES384"])
    assert backend.decode(token)["sub"] == "42"


# ---------------------------------------------------------------------------------------
# Issuer and audience
# ---------------------------------------------------------------------------------------
def test_issuer_and_audience_are_written_and_required(jwt_config):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET, JWT_ISSUER="kit", JWT_AUDIENCE="api")
    token = backend.encode(claims())
    payload = backend.decode(token)
    assert (payload["iss"], payload["aud"]) == ("kit", "api")

    unmarked = jwt.encode(claims(), HS_SECRET, algorithm="HS256")
    wrong_issuer = jwt.encode(claims(iss="other", aud="api"), HS_SECRET, algorithm="HS256")
    wrong_audience = jwt.encode(claims(iss="kit", aud="web"), HS_SECRET, algorithm="HS256")
    for bad in (unmarked, wrong_issuer, wrong_audience):
        with pytest.raises(TokenBackendError):
            backend.decode(bad)


def test_a_token_with_an_audience_is_refused_where_none_is_configured(jwt_config):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    with pytest.raises(TokenBackendError):
        backend.decode(jwt.encode(claims(aud="elsewhere"), HS_SECRET, algorithm="HS256"))


# ---------------------------------------------------------------------------------------
# Rotation by kid
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "ES256"])
def test_rotation_old_tokens_verify_until_their_key_is_removed(jwt_config, pem_keys, algorithm):
    old_token = jwt_config(
        algorithm, JWT_KEY_ID="2024", **keys_for(algorithm, pem_keys, "old")
    ).encode(claims())
    old_entry = f"2024={verifying_value(algorithm, pem_keys, 'old')}".replace("\n", "\\n")

    rotated = jwt_config(
        algorithm,
        JWT_KEY_ID="2025",
        JWT_OLD_VERIFYING_KEYS=[old_entry],
        **keys_for(algorithm, pem_keys),
    )
    new_token = rotated.encode(claims())
    assert header_of(new_token)["kid"] == "2025"
    assert rotated.decode(old_token)["sub"] == "42"
    assert rotated.decode(new_token)["sub"] == "42"

    retired = jwt_config(algorithm, JWT_KEY_ID="2025", **keys_for(algorithm, pem_keys))
    assert retired.decode(new_token)["sub"] == "42"
    with pytest.raises(TokenBackendError):
        retired.decode(old_token)


def test_old_verifying_key_from_a_file(jwt_config, pem_keys, tmp_path):
    old_token = jwt_config("ES256", JWT_KEY_ID="a", **keys_for("ES256", pem_keys, "old")).encode(
        claims()
    )
    (tmp_path / "a.pem").write_text(pem_keys["ES256"]["old"][1])
    backend = jwt_config(
        "ES256",
        JWT_KEY_ID="b",
        JWT_OLD_VERIFYING_KEYS=[f"a={tmp_path / 'a.pem'}"],
        **keys_for("ES256", pem_keys),
    )
    assert backend.decode(old_token)["sub"] == "42"


def test_a_token_signed_by_one_kid_does_not_verify_under_another(jwt_config):
    """The kid picks exactly one key: no trying every key."""
    old_token = jwt_config("HS256", JWT_KEY_ID="a", JWT_SIGNING_KEY=OLD_HS_SECRET).encode(claims())
    backend = jwt_config(
        "HS256",
        JWT_KEY_ID="b",
        JWT_SIGNING_KEY=HS_SECRET,
        JWT_OLD_VERIFYING_KEYS=[f"c={OLD_HS_SECRET}"],
    )
    with pytest.raises(TokenBackendError):
        backend.decode(old_token)


@pytest.mark.parametrize("kid", ["unknown", "", "2025 ", "__proto__"])
def test_unknown_kid_is_refused(jwt_config, kid):
    backend = jwt_config("HS256", JWT_KEY_ID="2025", JWT_SIGNING_KEY=HS_SECRET)
    token = jwt.encode(claims(), HS_SECRET, algorithm="HS256", headers={"kid": kid})
    with pytest.raises(TokenBackendError):
        backend.decode(token)


@pytest.mark.parametrize("kid", [2025, ["2025"], {"k": 1}, None])
def test_non_string_kid_is_refused(jwt_config, kid):
    backend = jwt_config("HS256", JWT_KEY_ID="2025", JWT_SIGNING_KEY=HS_SECRET)
    with pytest.raises(TokenBackendError):
        backend.decode(_signed(b64({"alg": "HS256", "kid": kid}), b64(claims())))


def test_oversized_header_is_refused(jwt_config):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    token = jwt.encode(claims(), HS_SECRET, algorithm="HS256", headers={"x": "y" * 2000})
    with pytest.raises(TokenBackendError):
        backend.decode(token)


def test_token_without_kid_uses_the_current_key_only(jwt_config):
    backend = jwt_config(
        "HS256",
        JWT_KEY_ID="new",
        JWT_SIGNING_KEY=HS_SECRET,
        JWT_OLD_VERIFYING_KEYS=[f"old={OLD_HS_SECRET}"],
    )
    assert backend.decode(jwt.encode(claims(), HS_SECRET, algorithm="HS256"))["sub"] == "42"
    with pytest.raises(TokenBackendError):
        backend.decode(jwt.encode(claims(), OLD_HS_SECRET, algorithm="HS256"))


def test_empty_kid_entry_names_the_key_of_tokens_issued_without_kid(jwt_config, pem_keys):
    """Rotating away from a key whose tokens had no kid (issued before kids were derived, or
    by another issuer): `=key` keeps its tokens valid."""
    kidless_token = jwt.encode(claims(), pem_keys["RS256"]["old"][0], algorithm="RS256")
    assert "kid" not in header_of(kidless_token)
    backend = jwt_config(
        "RS256",
        JWT_KEY_ID="new",
        JWT_OLD_VERIFYING_KEYS=["=" + pem_keys["RS256"]["old"][1].replace("\n", "\\n")],
        **keys_for("RS256", pem_keys),
    )
    assert backend.decode(kidless_token)["sub"] == "42"
    assert backend.decode(backend.encode(claims()))["sub"] == "42"


# ---------------------------------------------------------------------------------------
# Derived key ids (RFC 7638 thumbprints) when JWT_KEY_ID is unset
# ---------------------------------------------------------------------------------------
# RFC 7638 section 3.1: the example RSA key and its thumbprint.
RFC7638_KEY = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"
    "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
    "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_thumbprint_of_the_rfc_7638_example_key():
    public_key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(RFC7638_KEY))
    assert key_thumbprint(public_key) == RFC7638_THUMBPRINT


def test_thumbprint_of_an_ec_key_is_the_hash_of_its_canonical_jwk(pem_keys):
    """RFC 7638 section 3.2 by hand: the required members only, sorted, no whitespace."""
    public_key = serialization.load_pem_public_key(pem_keys["ES256"]["current"][1].encode())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))
    canonical = '{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}'.format(**jwk)
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest())
    assert key_thumbprint(public_key) == expected.rstrip(b"=").decode()


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_without_key_id_tokens_carry_the_thumbprint_of_the_key(jwt_config, pem_keys, algorithm):
    backend = jwt_config(algorithm, **keys_for(algorithm, pem_keys))
    public_key = serialization.load_pem_public_key(pem_keys[algorithm]["current"][1].encode())

    token = backend.encode(claims())

    assert header_of(token) == {"alg": algorithm, "kid": key_thumbprint(public_key), "typ": "JWT"}
    assert [key["kid"] for key in backend.config.jwks["keys"]] == [key_thumbprint(public_key)]
    assert backend.decode(token)["sub"] == "42"


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_token_with_a_derived_kid_survives_naming_and_retiring_its_key(
    jwt_config, pem_keys, algorithm
):
    """Setting JWT_KEY_ID later, or listing the key as an old one (with a kid or with
    `=`), keeps its tokens valid: every key is also found by its thumbprint."""
    token = jwt_config(algorithm, **keys_for(algorithm, pem_keys, "old")).encode(claims())
    old_public = pem_keys[algorithm]["old"][1].replace("\n", "\\n")

    for backend in (
        jwt_config(algorithm, JWT_KEY_ID="named", **keys_for(algorithm, pem_keys, "old")),
        jwt_config(
            algorithm,
            JWT_KEY_ID="2025",
            JWT_OLD_VERIFYING_KEYS=[f"2024={old_public}"],
            **keys_for(algorithm, pem_keys),
        ),
        jwt_config(
            algorithm, JWT_OLD_VERIFYING_KEYS=[f"={old_public}"], **keys_for(algorithm, pem_keys)
        ),
    ):
        assert backend.decode(token)["sub"] == "42"

    retired = jwt_config(algorithm, **keys_for(algorithm, pem_keys))
    with pytest.raises(TokenBackendError):
        retired.decode(token)


def test_hs_tokens_get_no_derived_kid_and_the_set_stays_empty(jwt_config):
    """A thumbprint of a secret would put a digest of it in every token: no derived kid."""
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    assert "kid" not in header_of(backend.encode(claims()))
    assert backend.config.jwks == {"keys": []}


# ---------------------------------------------------------------------------------------
# Algorithm confusion and untrusted headers
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("kid", [None, "k"])
def test_alg_none_in_any_spelling_is_refused(jwt_config, alg, kid):
    backend = jwt_config("HS256", JWT_KEY_ID="k", JWT_SIGNING_KEY=HS_SECRET)
    header = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid else {})}
    for signature in ("", "AAAA"):
        with pytest.raises(TokenBackendError):
            backend.decode(f"{b64(header)}.{b64(claims())}.{signature}")
        with pytest.raises(TokenBackendError):
            backend.decode(f"{b64(header)}.{b64(claims())}.{signature}", verify=False)


def test_hs256_token_signed_with_the_rsa_public_key_is_refused(jwt_config, pem_keys):
    backend = jwt_config("RS256", **keys_for("RS256", pem_keys))
    public_pem = pem_keys["RS256"]["current"][1].encode()
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(TokenBackendError):
        backend.decode(f"{signing_input}.{b64(signature)}")


@pytest.mark.parametrize("algorithm", ["HS384", "RS256", "ES256"])
def test_another_algorithm_of_a_valid_key_is_refused(jwt_config, pem_keys, algorithm):
    """HS256 configured: a token signed with HS384 and the same secret is refused."""
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    key = HS_SECRET if algorithm.startswith("HS") else pem_keys[algorithm]["current"][0]
    with pytest.raises(TokenBackendError):
        backend.decode(jwt.encode(claims(), key, algorithm=algorithm))


def test_jku_x5u_and_embedded_jwk_headers_are_ignored(jwt_config, pem_keys):
    backend = jwt_config("RS256", JWT_KEY_ID="k", **keys_for("RS256", pem_keys))
    attacker_private, attacker_public = make_pem_key_pair("RS256")
    attacker_jwk = json.loads(
        jwt.algorithms.RSAAlgorithm.to_jwk(
            serialization.load_pem_public_key(attacker_public.encode())
        )
    )
    hostile_headers = {
        "kid": "k",
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "jwk": attacker_jwk,
    }

    forged = jwt.encode(claims(), attacker_private, algorithm="RS256", headers=hostile_headers)
    with pytest.raises(TokenBackendError):
        backend.decode(forged)
    forged_without_kid = jwt.encode(
        claims(), attacker_private, algorithm="RS256", headers={"jwk": attacker_jwk}
    )
    with pytest.raises(TokenBackendError):
        backend.decode(forged_without_kid)

    # The same headers on a token signed with the kit's key change nothing.
    genuine = jwt.encode(
        claims(), pem_keys["RS256"]["current"][0], algorithm="RS256", headers=hostile_headers
    )
    assert backend.decode(genuine)["sub"] == "42"


def test_unknown_critical_header_is_refused(jwt_config):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    token = jwt.encode(claims(), HS_SECRET, algorithm="HS256", headers={"crit": ["exp"]})
    with pytest.raises(TokenBackendError):
        backend.decode(token)


# ---------------------------------------------------------------------------------------
# Tampering, times and claims
# ---------------------------------------------------------------------------------------
def _flip(segment):
    return ("B" if segment[0] == "A" else "A") + segment[1:]


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "ES256"])
def test_tampered_payload_or_signature_is_refused(jwt_config, pem_keys, algorithm):
    backend = jwt_config(algorithm, **keys_for(algorithm, pem_keys))
    header, payload, signature = backend.encode(claims()).split(".")
    promoted = b64(claims(sub="1", is_superuser=True))
    for bad in (
        f"{header}.{promoted}.{signature}",
        f"{header}.{payload}.{_flip(signature)}",
        f"{header}.{payload}.",
        f"{header}.{payload}",
    ):
        with pytest.raises(TokenBackendError):
            backend.decode(bad)


def test_expired_token_is_refused_as_expired(jwt_config):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    token = backend.encode(claims(exp=int(time.time()) - LEEWAY_SECONDS - 5))
    with pytest.raises(TokenBackendExpiredToken):
        backend.decode(token)
    assert backend.decode(token, verify=False)["sub"] == "42"


def test_leeway_forgives_only_a_few_seconds(jwt_config):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    just_expired = backend.encode(claims(exp=int(time.time()) - 1))
    assert backend.decode(just_expired)["sub"] == "42"
    assert backend.get_leeway().total_seconds() == LEEWAY_SECONDS <= 10


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_token_from_the_future_is_refused(jwt_config, claim):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    token = backend.encode(claims(**{claim: int(time.time()) + 120}))
    with pytest.raises(TokenBackendError):
        backend.decode(token)


@pytest.mark.parametrize(
    "bad_claims",
    [
        {"sub": 42},
        {"sub": None},
        {"sub": ["42"]},
        {"exp": None},
        {"iat": None},
        {"jti": None},
        {"jti": 7},
        {"exp": "tomorrow"},
        {"exp": "9" * 5000},
        {"iat": "now"},
        {"nbf": "later"},
    ],
    ids=repr,
)
def test_missing_or_malformed_claims_are_refused(jwt_config, bad_claims):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    with pytest.raises(TokenBackendError):
        backend.decode(jwt.encode(claims(**bad_claims), HS_SECRET, algorithm="HS256"))


def _signed(header_part, payload_part):
    signing_input = f"{header_part}.{payload_part}"
    signature = hmac.new(HS_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.parametrize(
    "token",
    [
        None,
        42,
        "",
        "not-a-token",
        "a.b.c",
        "a.b.c.d",
        "....",
        b"\xff\xfe.\x00.\x01",
        "é.é.é",
        "x" * 100 * 1024,
        _signed(b64({"alg": "HS256"}), b64(b"not json")),
        _signed(b64({"alg": "HS256"}), b64(b"[1, 2, 3]")),
        _signed(b64({"alg": "HS256"}), b64(b'"a string"')),
        _signed(b64({"alg": "HS256"}), b64(b"null")),
        _signed(b64(b"not json"), b64(claims())),
        _signed(b64(b"[]"), b64(claims())),
        _signed(b64({"alg": "HS256"}), "!!!"),
    ],
    ids=lambda t: repr(t)[:40],
)
def test_garbage_raises_token_backend_error_only(jwt_config, token):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    with pytest.raises(TokenBackendError):
        backend.decode(token)


def test_a_100_kb_token_signed_with_the_real_key_is_refused(jwt_config):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    token = backend.encode(claims(padding="p" * 100 * 1024))
    with pytest.raises(TokenBackendError):
        backend.decode(token)


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300),
        st.lists(
            st.text(
                alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                max_size=60,
            ),
            min_size=1,
            max_size=6,
        ).map(".".join),
        st.tuples(
            st.dictionaries(
                st.text(max_size=5), st.one_of(st.none(), st.integers(), st.text(max_size=5))
            ),
            st.dictionaries(
                st.text(max_size=5), st.one_of(st.none(), st.integers(), st.text(max_size=5))
            ),
        ).map(lambda parts: _signed(b64(parts[0]), b64(parts[1]))),
    )
)
def test_fuzzed_input_never_raises_another_exception(jwt_config, token):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    with contextlib.suppress(TokenBackendError):
        accepted = backend.decode(token)
        pytest.fail(f"accepted {token!r}: {accepted}")


# ---------------------------------------------------------------------------------------
# JWE (JWT_ENCRYPT)
# ---------------------------------------------------------------------------------------
def encryption_key():
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def test_jwe_round_trip_hides_the_claims(jwt_config, pem_keys):
    backend = jwt_config(
        "ES256",
        JWT_KEY_ID="k",
        JWT_ENCRYPT=True,
        JWT_ENCRYPTION_KEY=encryption_key(),
        **keys_for("ES256", pem_keys),
    )
    payload = claims(permissions=["secret.permission"])
    token = backend.encode(payload)

    parts = token.split(".")
    assert len(parts) == 5
    jwe_header = json.loads(base64.urlsafe_b64decode(parts[0] + "=="))
    assert (jwe_header["alg"], jwe_header["enc"], jwe_header["cty"]) == ("dir", "A256GCM", "JWT")
    assert b"secret.permission" not in b"".join(
        base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) for p in parts
    )
    assert backend.decode(token) == payload
    assert backend.decode(token.encode()) == payload


def test_tampered_jwe_is_refused(jwt_config):
    backend = jwt_config(
        "HS256", JWT_SIGNING_KEY=HS_SECRET, JWT_ENCRYPT=True, JWT_ENCRYPTION_KEY=encryption_key()
    )
    parts = backend.encode(claims()).split(".")
    for index in (0, 2, 3, 4):
        tampered = [*parts]
        tampered[index] = _flip(tampered[index])
        with pytest.raises(TokenBackendError):
            backend.decode(".".join(tampered))


def test_with_encryption_on_a_plain_signed_token_is_refused(jwt_config):
    plain = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET).encode(claims())
    backend = jwt_config(
        "HS256", JWT_SIGNING_KEY=HS_SECRET, JWT_ENCRYPT=True, JWT_ENCRYPTION_KEY=encryption_key()
    )
    with pytest.raises(TokenBackendError):
        backend.decode(plain)


def test_jwe_of_another_key_is_refused_and_listed_old_keys_still_decrypt(jwt_config):
    old_key, new_key = encryption_key(), encryption_key()
    old_token = jwt_config(
        "HS256", JWT_SIGNING_KEY=HS_SECRET, JWT_ENCRYPT=True, JWT_ENCRYPTION_KEY=old_key
    ).encode(claims())

    rotated = jwt_config(
        "HS256",
        JWT_SIGNING_KEY=HS_SECRET,
        JWT_ENCRYPT=True,
        JWT_ENCRYPTION_KEY=f"{new_key},{old_key}",
    )
    assert rotated.decode(old_token)["sub"] == "42"
    new_token = rotated.encode(claims())

    only_new = jwt_config(
        "HS256", JWT_SIGNING_KEY=HS_SECRET, JWT_ENCRYPT=True, JWT_ENCRYPTION_KEY=new_key
    )
    assert only_new.decode(new_token)["sub"] == "42"
    with pytest.raises(TokenBackendError):
        only_new.decode(old_token)


def test_jwe_wrapping_a_token_with_a_bad_signature_is_refused(jwt_config):
    from joserfc import jwe
    from joserfc.jwk import OctKey

    key = secrets.token_bytes(32)
    backend = jwt_config(
        "HS256",
        JWT_SIGNING_KEY=HS_SECRET,
        JWT_ENCRYPT=True,
        JWT_ENCRYPTION_KEY=base64.urlsafe_b64encode(key).decode(),
    )
    kid = backend.config.encryption_kid
    forged = jwt.encode(claims(), "f" * 64, algorithm="HS256")
    none_alg = f"{b64({'alg': 'none'})}.{b64(claims())}."
    for inner in (forged, none_alg):
        wrapped = jwe.encrypt_compact(
            {"alg": "dir", "enc": "A256GCM", "kid": kid}, inner, OctKey.import_key(key)
        )
        with pytest.raises(TokenBackendError):
            backend.decode(wrapped)


# ---------------------------------------------------------------------------------------
# Configuration errors (also shown by the system check at start-up)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"JWT_ALGORITHM": "none"}, "JWT_ALGORITHM='none' is not supported"),
        ({"JWT_ALGORITHM": "PS256"}, "is not supported"),
        ({"JWT_ALGORITHM": "RS256"}, "JWT_SIGNING_KEY is not set"),
        (
            {"JWT_ALGORITHM": "ES256", "JWT_SIGNING_KEY": "/nonexistent/key.pem"},
            "cannot read key file",
        ),
        (
            {"JWT_ALGORITHM": "RS256", "JWT_SIGNING_KEY": "-----BEGIN junk"},
            "not an unencrypted PEM",
        ),
        ({"JWT_SIGNING_KEY": "short"}, "JWT_SIGNING_KEY: HS256 needs a secret of at least 32"),
        ({"JWT_ALGORITHM": "HS512", "JWT_SIGNING_KEY": "s" * 40}, "at least 64 bytes"),
        ({"JWT_ENCRYPT": True}, "JWT_ENCRYPTION_KEY is not set"),
        ({"JWT_ENCRYPT": True, "JWT_ENCRYPTION_KEY": "c2hvcnQ"}, "must decode to 32 bytes"),
        ({"JWT_OLD_VERIFYING_KEYS": [f"a={OLD_HS_SECRET}", "secretvalue"]}, "entry 2 is not"),
        (
            {"JWT_KEY_ID": "a", "JWT_OLD_VERIFYING_KEYS": [f"a={OLD_HS_SECRET}"]},
            "given to two keys",
        ),
        ({"JWT_OLD_VERIFYING_KEYS": [f"={OLD_HS_SECRET}"]}, "set JWT_KEY_ID first"),
    ],
    ids=lambda value: str(value)[:50],
)
def test_bad_configuration_is_refused_with_a_one_line_message(jwt_config, overrides, message):
    algorithm = overrides.pop("JWT_ALGORITHM", "HS256")
    with pytest.raises(ImproperlyConfigured, match=message) as raised:
        jwt_config(algorithm, **overrides)
    assert "\n" not in str(raised.value)
    assert "secretvalue" not in str(raised.value)
    [error] = check_jwt_keys()
    assert isinstance(error, Error)
    assert error.id == "accounts.E001"
    assert message.split("'")[0] in error.msg


def test_too_short_secret_key_is_named_when_it_is_the_jwt_key(jwt_config, settings):
    settings.SECRET_KEY = "k" * 50
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY \(as JWT key\): HS512 needs"):
        jwt_config("HS512")


@pytest.mark.parametrize(
    ("algorithm", "key_pair_of"),
    [("RS256", "ES256"), ("ES256", "RS256"), ("ES256", "ES384"), ("ES512", "ES256")],
)
def test_key_of_the_wrong_type_is_refused(jwt_config, pem_keys, algorithm, key_pair_of):
    with pytest.raises(ImproperlyConfigured, match="needs an"):
        jwt_config(algorithm, JWT_SIGNING_KEY=pem_keys[key_pair_of]["current"][0])


def test_verifying_key_that_does_not_match_the_signing_key_is_refused(jwt_config, pem_keys):
    with pytest.raises(ImproperlyConfigured, match="not the public key of JWT_SIGNING_KEY"):
        jwt_config(
            "RS256",
            JWT_SIGNING_KEY=pem_keys["RS256"]["current"][0],
            JWT_VERIFYING_KEY=pem_keys["RS256"]["old"][1],
        )


def test_system_check_passes_with_or_without_a_key_id(jwt_config, pem_keys):
    """No warning without JWT_KEY_ID: RS*/ES* tokens then carry the key's thumbprint."""
    jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    assert check_jwt_keys() == []
    jwt_config("ES256", **keys_for("ES256", pem_keys))
    assert check_jwt_keys() == []
    jwt_config("ES256", JWT_KEY_ID="k", **keys_for("ES256", pem_keys))
    assert check_jwt_keys() == []


# ---------------------------------------------------------------------------------------
# The cached accessor
# ---------------------------------------------------------------------------------------
def test_backend_is_cached_and_rebuilt_when_settings_change(jwt_config, settings):
    first = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    assert get_token_backend() is first
    token = first.encode(claims())

    settings.JWT_SIGNING_KEY = OLD_HS_SECRET
    second = get_token_backend()
    assert second is not first
    with pytest.raises(TokenBackendError):
        second.decode(token)


def test_no_pem_is_parsed_per_token(jwt_config, pem_keys, monkeypatch):
    backend = jwt_config("RS256", JWT_KEY_ID="k", **keys_for("RS256", pem_keys))

    def refuse(*args, **kwargs):
        raise AssertionError("a PEM was parsed while handling a token")

    monkeypatch.setattr(serialization, "load_pem_private_key", refuse)
    monkeypatch.setattr(serialization, "load_pem_public_key", refuse)
    for _ in range(3):
        assert get_token_backend().decode(backend.encode(claims()))["sub"] == "42"
    assert signing.get_token_backend() is backend
