"""The device-session tokens go through the kit's key ring: asymmetric keys, `kid`
rotation and issuer/audience hold on the real routes, not only in the backend."""

import jwt
import pytest

ME = "/api/v1/me/"


@pytest.mark.django_db
def test_es256_tokens_work_and_verify_offline_with_the_published_jwks(
    api_client, sign_in, bearer, jwt_config, pem_keys
):
    private, public = pem_keys["ES256"]["current"]
    jwt_config("ES256", JWT_SIGNING_KEY=private, JWT_VERIFYING_KEY=public, JWT_KEY_ID="k1")
    body = sign_in().json()

    assert jwt.get_unverified_header(body["access"])["kid"] == "k1"
    assert api_client.get(ME, **bearer(body["access"])).status_code == 200
    jwks = api_client.get("/.well-known/jwks.json").json()
    key = jwt.PyJWK(jwks["keys"][0])
    claims = jwt.decode(body["access"], key, algorithms=["ES256"])
    assert claims["sid"] == body["device"]["id"]


@pytest.mark.django_db
def test_rotating_the_key_keeps_old_tokens_until_their_key_is_removed(
    api_client, sign_in, bearer, jwt_config, pem_keys
):
    old_private, old_public = pem_keys["RS256"]["old"]
    new_private, new_public = pem_keys["RS256"]["current"]
    jwt_config("RS256", JWT_SIGNING_KEY=old_private, JWT_VERIFYING_KEY=old_public, JWT_KEY_ID="a")
    old_access = sign_in().json()["access"]

    jwt_config(
        "RS256",
        JWT_SIGNING_KEY=new_private,
        JWT_VERIFYING_KEY=new_public,
        JWT_KEY_ID="b",
        JWT_OLD_VERIFYING_KEYS=[f"a={old_public}"],
    )
    assert api_client.get(ME, **bearer(old_access)).status_code == 200

    jwt_config("RS256", JWT_SIGNING_KEY=new_private, JWT_VERIFYING_KEY=new_public, JWT_KEY_ID="b")
    refused = api_client.get(ME, **bearer(old_access))
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_invalid"


@pytest.mark.django_db
def test_audience_is_written_and_enforced(api_client, sign_in, bearer, jwt_config):
    jwt_config(JWT_AUDIENCE="mobile", JWT_ISSUER="https://kit.example")
    access = sign_in().json()["access"]
    claims = jwt.decode(access, options={"verify_signature": False})
    assert (claims["aud"], claims["iss"]) == ("mobile", "https://kit.example")
    assert api_client.get(ME, **bearer(access)).status_code == 200

    jwt_config(JWT_AUDIENCE="web", JWT_ISSUER="https://kit.example")
    assert api_client.get(ME, **bearer(access)).json()["code"] == "token_invalid"
