"""simplejwt token classes signed with the kit's backend: the one-line wiring works."""

from datetime import timedelta

import pytest
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.devices.signing import KitTokenBackendMixin
from tests.accounts.devices.test_signing import HS_SECRET, keys_for


class KitAccessToken(KitTokenBackendMixin, AccessToken):
    pass


class KitRefreshToken(KitTokenBackendMixin, RefreshToken):
    pass


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "ES256"])
def test_access_token_encodes_and_validates_through_the_kit_backend(
    jwt_config, pem_keys, user, algorithm
):
    jwt_config(algorithm, JWT_KEY_ID="k1", JWT_ISSUER="kit", **keys_for(algorithm, pem_keys))
    issued = KitAccessToken.for_user(user)
    issued["sid"] = "device-1"
    raw = str(issued)

    validated = KitAccessToken(raw)

    assert validated["sub"] == str(user.pk)
    assert validated["sid"] == "device-1"
    assert validated["iss"] == "kit"
    assert validated["token_type"] == "access"


def test_refresh_token_is_not_accepted_as_an_access_token(jwt_config, user):
    jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    refresh = str(KitRefreshToken.for_user(user))
    assert KitRefreshToken(refresh)["sub"] == str(user.pk)
    with pytest.raises(TokenError):
        KitAccessToken(refresh)


def test_expired_token_raises_simplejwts_expired_error(jwt_config, user):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    token = KitAccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=-60))
    with pytest.raises(ExpiredTokenError):
        KitAccessToken(backend.encode(token.payload))


def test_tampered_token_raises_token_error(jwt_config, user):
    jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    raw = str(KitAccessToken.for_user(user))
    with pytest.raises(TokenError):
        KitAccessToken(raw[:-2] + ("AA" if not raw.endswith("AA") else "BB"))
