"""accounts.devices.tokens.decode_access: access tokens are verified once per process."""

import uuid

import pytest
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError

from accounts.devices import tokens
from accounts.devices.signing import LEEWAY_SECONDS
from tests.accounts.devices.test_signing import HS_SECRET, OLD_HS_SECRET, _flip, b64, claims


def access_claims(**overrides):
    return claims(token_type="access", sid=str(uuid.uuid4()), **overrides)


def test_a_remembered_token_is_refused_once_it_expires(jwt_config, monkeypatch):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    payload = access_claims()
    raw = backend.encode(payload)
    assert tokens.decode_access(raw)["sub"] == "42"  # verified, now remembered
    later = payload["exp"] + LEEWAY_SECONDS + 1
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    with pytest.raises(ExpiredTokenError):
        tokens.decode_access(raw)


def test_a_remembered_token_skips_verification_and_gives_a_fresh_copy(jwt_config, monkeypatch):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    payload = access_claims(roles=["editor"])
    raw = backend.encode(payload)
    first = tokens.decode_access(raw)
    first["roles"].append("admin")
    first["sub"] = "1"

    def refuse(*args, **kwargs):
        raise AssertionError("verified again")

    monkeypatch.setattr(backend._jwt, "decode", refuse)
    again = tokens.decode_access(raw)
    assert again["roles"] == ["editor"]
    assert again["sub"] == "42"
    assert again.session_id == uuid.UUID(payload["sid"])
    assert again.user_pk == 42
    assert again is not first


def test_a_tampered_twin_of_a_remembered_token_is_still_refused(jwt_config):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    payload = access_claims()
    raw = backend.encode(payload)
    tokens.decode_access(raw)
    header, body, signature = raw.split(".")
    for bad in (
        f"{header}.{b64({**payload, 'sub': '1'})}.{signature}",
        f"{header}.{body}.{_flip(signature)}",
    ):
        with pytest.raises(TokenError):
            tokens.decode_access(bad)


def test_a_refresh_token_is_never_remembered_as_an_access_token(jwt_config):
    backend = jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET)
    raw = backend.encode(claims(token_type="refresh", sid=str(uuid.uuid4())))
    for _ in range(2):
        with pytest.raises(TokenError):
            tokens.decode_access(raw)


def test_remembered_tokens_are_forgotten_when_their_key_is_removed(jwt_config):
    """A settings change rebuilds the backend, and what was remembered under it is gone."""
    old = jwt_config("HS256", JWT_SIGNING_KEY=OLD_HS_SECRET, JWT_KEY_ID="old")
    raw = old.encode(access_claims())
    assert tokens.decode_access(raw)["sub"] == "42"
    jwt_config("HS256", JWT_SIGNING_KEY=HS_SECRET, JWT_KEY_ID="new")
    with pytest.raises(TokenError):
        tokens.decode_access(raw)
