"""Regression tests for the faults of existing packages (shared/prior-art.md): the kit must
never repeat one. Each test names the package and fault it guards against."""

import time

import pytest

from accounts.devices.signing import get_token_backend
from accounts.models import AuthEvent, DeviceSession

ME_URL = "/api/v1/me/"
LOGOUT_URL = "/api/v1/auth/logout/"

pytestmark = pytest.mark.django_db


def me(api_client, token, scheme="Bearer "):
    return api_client.get(ME_URL, HTTP_AUTHORIZATION=f"{scheme}{token}")


def test_a_token_expired_long_ago_never_authenticates_nor_is_reissued(victim, routes, api_client):
    """Duck: a token expired 30 days ago still resolved to the user and was re-issued."""
    month_ago = int(time.time()) - 30 * 86400
    expired = get_token_backend().encode(
        {**victim.access_claims, "iat": month_ago - 300, "exp": month_ago}
    )
    response = me(api_client, expired)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    assert "Set-Cookie" not in response
    assert routes["introspect"](expired).json() == {"active": False}


def test_logout_revokes_the_access_token_at_once(victim, routes, api_client):
    """Duck, django-bolt, simplejwt #28: logout left the access token working."""
    assert (
        api_client.post(LOGOUT_URL, HTTP_AUTHORIZATION=f"Bearer {victim.access}").status_code == 204
    )
    assert me(api_client, victim.access).json()["code"] == "session_revoked"
    assert routes["verify"](victim.access).json()["code"] == "session_revoked"
    assert routes["introspect"](victim.access).json() == {"active": False}


def test_a_logged_out_refresh_token_in_the_access_slot_is_refused(victim, api_client):
    """drf-cookie-jwtauth: a blacklisted refresh token in the access slot was alice for a day."""
    api_client.post(LOGOUT_URL, {"refresh": victim.refresh}, format="json")
    response = me(api_client, victim.refresh)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_a_bare_token_without_the_bearer_scheme_is_not_accepted(victim, api_client):
    """django-bolt: the `Bearer ` prefix was optional."""
    for scheme in ("", "JWT ", "Token "):
        response = me(api_client, victim.access, scheme=scheme)
        assert response.status_code == 401, scheme
        assert response.json()["code"] == "not_authenticated", scheme


@pytest.mark.parametrize("policy", ["reject", "evict_oldest"])
def test_the_device_limit_never_signs_every_device_out(sign_in, api_client, settings, policy):
    """d_jwt_auth: going over the limit logged out every device."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 2, "DEVICE_LIMIT_POLICY": policy}
    phone = sign_in(device_id="phone").json()
    laptop = sign_in(device_id="laptop").json()
    sign_in(device_id="tablet", expect=403 if policy == "reject" else 200)
    live = set(
        DeviceSession.objects.filter(revoked_at__isnull=True).values_list("device_id", flat=True)
    )
    if policy == "reject":
        assert live == {"phone", "laptop"}
        assert me(api_client, phone["access"]).status_code == 200
    else:
        assert live == {"laptop", "tablet"}  # only the least recently used one went
        assert me(api_client, phone["access"]).json()["code"] == "session_revoked"
    assert me(api_client, laptop["access"]).status_code == 200


def test_refreshing_one_device_never_touches_another(sign_in, refresh, api_client):
    """d_jwt_auth: every N refreshes rotated the shared id and killed other devices."""
    other = sign_in(device_id="laptop").json()
    current = sign_in(device_id="phone-1").json()
    for _ in range(5):
        response = refresh(current["refresh"], device_id="phone-1")
        assert response.status_code == 200
        current = response.json()
    assert me(api_client, other["access"]).status_code == 200
    assert refresh(other["refresh"], device_id="laptop").status_code == 200


def test_deleted_user_gets_401_not_500(victim, api_client, refresh):
    """d_jwt_auth: a deleted user raised DoesNotExist, a 500."""
    victim.user.delete()
    response = me(api_client, victim.access)
    assert response.status_code == 401
    assert refresh(victim.refresh).status_code == 401


def test_the_raw_api_key_is_never_stored_or_logged(api_client, make_api_key, caplog):
    """django-bolt: the raw key leaked into user_id (and so into logs)."""
    _, raw_key = make_api_key(name="worker", scopes=["users:read"])
    wrong = raw_key[:-1] + ("A" if raw_key[-1] != "A" else "B")
    with caplog.at_level("DEBUG"):
        assert api_client.get("/api/v1/service/ping/", HTTP_X_API_KEY=raw_key).status_code == 200
        assert api_client.get("/api/v1/service/ping/", HTTP_X_API_KEY=wrong).status_code == 401
    secret = raw_key.rsplit("_", 1)[1]
    assert secret not in caplog.text
    assert wrong.rsplit("_", 1)[1] not in caplog.text
    for event in AuthEvent.objects.all():
        assert secret[:20] not in str(event.detail) + event.username + event.actor


def test_every_private_api_route_refuses_anonymous_callers(api_client):
    """django-bolt: a misdeclared guard silently made a route public. Every operation
    the schema marks as needing credentials answers 401 without them."""
    schema = api_client.get("/api/schema/?format=json").json()
    private = [
        (method, path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") and {} not in operation["security"]
    ]
    assert len(private) >= 9
    for method, path in private:
        url = path.replace("{session_id}", "6f1c7a52-8a40-4d59-9a53-0e7a7c1a9a01").replace(
            "{user_id}", "1"
        )
        response = getattr(api_client, method)(url, {}, format="json")
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["code"] in ("not_authenticated", "api_key_missing"), path
