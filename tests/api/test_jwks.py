"""GET /.well-known/jwks.json: public keys for RS*/ES*, nothing for HS*."""

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from accounts.devices.keys import key_thumbprint
from tests.accounts.devices.test_signing import HS_SECRET, keys_for

URL = "/.well-known/jwks.json"


def claims():
    now = int(time.time())
    return {"sub": "42", "exp": now + 300, "iat": now, "jti": uuid.uuid4().hex}


def test_hs_publishes_an_empty_set(api_client, jwt_config):
    jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET, JWT_OLD_VERIFYING_KEYS=[f"old={'o' * 64}"])

    response = api_client.get(URL)

    assert response.status_code == 200
    assert response.json() == {"keys": []}
    assert HS_SECRET not in response.content.decode()


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_asymmetric_publishes_current_and_old_public_keys(
    api_client, jwt_config, pem_keys, algorithm
):
    old_public = pem_keys[algorithm]["old"][1].replace("\n", "\\n")
    jwt_config(
        algorithm,
        JWT_KEY_ID="2025",
        JWT_OLD_VERIFYING_KEYS=[f"2024={old_public}"],
        **keys_for(algorithm, pem_keys),
    )

    response = api_client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert sorted(response["Cache-Control"].split(", ")) == ["max-age=300", "public"]
    keys = response.json()["keys"]
    assert [key["kid"] for key in keys] == ["2025", "2024"]
    for key in keys:
        assert key["kty"] == ("RSA" if algorithm == "RS256" else "EC")
        assert (key["alg"], key["use"]) == (algorithm, "sig")
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()  # no private part


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_token_verifies_offline_with_the_published_key(
    api_client, jwt_config, pem_keys, algorithm
):
    backend = jwt_config(algorithm, JWT_KEY_ID="2025", **keys_for(algorithm, pem_keys))
    token = backend.encode(claims())
    jwks = jwt.PyJWKSet.from_dict(api_client.get(URL).json())

    # What another service does: pick the key by the token's kid, verify with PyJWT.
    signing_key = jwks[jwt.get_unverified_header(token)["kid"]]
    payload = jwt.decode(token, signing_key, algorithms=[algorithm])

    assert payload["sub"] == "42"
    forged = jwt.encode(claims(), pem_keys[algorithm]["old"][0], algorithm=algorithm)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, signing_key, algorithms=[algorithm])


def new_private_pem(algorithm):
    if algorithm == "RS256":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private_key = ec.generate_private_key(ec.SECP256R1())
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_pyjwkclient_verifies_a_kit_token_signed_without_a_key_id(
    live_server, settings, jwt_config, algorithm
):
    """What an off-the-shelf client does: fetch the JWKS over HTTP and pick the key by the
    token's kid. Without JWT_KEY_ID the kid is the key's RFC 7638 thumbprint."""
    private_pem = new_private_pem(algorithm)
    backend = jwt_config(algorithm, JWT_SIGNING_KEY=private_pem)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    client = jwt.PyJWKClient(f"http://127.0.0.1:{live_server.thread.port}{URL}", cache_keys=False)
    token = backend.encode(claims())

    signing_key = client.get_signing_key_from_jwt(token)

    assert jwt.decode(token, signing_key, algorithms=[algorithm])["sub"] == "42"
    public_key = serialization.load_pem_private_key(private_pem.encode(), None).public_key()
    assert signing_key.key_id == jwt.get_unverified_header(token)["kid"]
    assert signing_key.key_id == key_thumbprint(public_key)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_every_published_key_has_a_kid_old_kidless_keys_their_thumbprint(
    api_client, jwt_config, pem_keys, algorithm
):
    old_public = pem_keys[algorithm]["old"][1]
    jwt_config(
        algorithm,
        JWT_OLD_VERIFYING_KEYS=["=" + old_public.replace("\n", "\\n")],
        **keys_for(algorithm, pem_keys),
    )
    current_public = pem_keys[algorithm]["current"][1]

    keys = api_client.get(URL).json()["keys"]

    assert [key["kid"] for key in keys] == [
        key_thumbprint(serialization.load_pem_public_key(pem.encode()))
        for pem in (current_public, old_public)
    ]


def test_is_public_and_ignores_bad_credentials(api_client, jwt_config, pem_keys):
    jwt_config("ES256", JWT_KEY_ID="k", **keys_for("ES256", pem_keys))
    response = api_client.get(URL, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 200
    assert response.json()["keys"][0]["kid"] == "k"


def test_only_get(api_client, jwt_config):
    jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    response = api_client.post(URL, {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_is_documented_in_the_openapi_schema(api_client, admin_user):
    api_client.force_authenticate(admin_user)
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "/.well-known/jwks.json" in response.json()["paths"]
