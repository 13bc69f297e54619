"""The service routes that reach into device sessions: introspection and revoke-sessions."""

import pytest

from accounts.models import DeviceSession

INTROSPECT = "/api/v1/service/introspect/"


def revoke_url(user_id):
    return f"/api/v1/service/users/{user_id}/revoke-sessions/"


@pytest.fixture
def introspect(api_client, make_api_key):
    _, key = make_api_key(scopes=["tokens:introspect"])

    def _introspect(token):
        return api_client.post(INTROSPECT, {"token": token}, format="json", HTTP_X_API_KEY=key)

    return _introspect


@pytest.mark.django_db
def test_introspect_describes_a_live_access_token(sign_in, introspect, user):
    body = sign_in().json()
    response = introspect(body["access"])
    assert response.status_code == 200
    data = response.json()
    assert data["active"] is True
    assert data["token_type"] == "access"
    assert data["sub"] == str(user.pk)
    assert data["sid"] == body["device"]["id"]
    assert data["username"] == user.username
    assert data["exp"] > data["iat"]


@pytest.mark.django_db
def test_introspect_describes_the_current_refresh_token(sign_in, introspect, user):
    body = sign_in().json()
    data = introspect(body["refresh"]).json()
    assert data["active"] is True
    assert data["token_type"] == "refresh"
    assert data["username"] == user.username


@pytest.mark.django_db
def test_introspect_says_inactive_for_revoked_forged_and_garbage(
    sign_in, introspect, api_client, bearer
):
    body = sign_in().json()
    forged = body["access"][:-4] + ("AAAA" if not body["access"].endswith("AAAA") else "BBBB")
    assert introspect(forged).json() == {"active": False}
    assert introspect("not-a-token").json() == {"active": False}
    api_client.post("/api/v1/auth/logout/", **bearer(body["access"]))
    assert introspect(body["access"]).json() == {"active": False}
    assert introspect(body["refresh"]).json() == {"active": False}


@pytest.mark.django_db
def test_introspect_says_inactive_for_an_expired_token(sign_in, introspect, settings):
    settings.JWT_ACCESS_TOKEN_LIFETIME = -10
    body = sign_in().json()
    assert introspect(body["access"]).json() == {"active": False}


@pytest.mark.django_db
def test_introspect_needs_its_scope_and_a_key(api_client, make_api_key, sign_in, bearer):
    body = sign_in().json()
    _, key = make_api_key(scopes=["users:read"])
    response = api_client.post(
        INTROSPECT, {"token": body["access"]}, format="json", HTTP_X_API_KEY=key
    )
    assert response.status_code == 403
    assert response.json()["required_scope"] == "tokens:introspect"
    response = api_client.post(
        INTROSPECT, {"token": body["access"]}, format="json", **bearer(body["access"])
    )
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_missing"


@pytest.mark.django_db
def test_introspect_without_a_token_is_invalid(api_client, make_api_key):
    _, key = make_api_key(scopes=["tokens:introspect"])
    response = api_client.post(INTROSPECT, {}, format="json", HTTP_X_API_KEY=key)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "token" in response.json()["errors"]


@pytest.mark.django_db
def test_revoke_sessions_signs_the_user_out_everywhere(
    api_client, make_api_key, sign_in, bearer, user
):
    first = sign_in(device_id="phone").json()
    sign_in(device_id="tablet")
    _, key = make_api_key(scopes=["sessions:revoke"])

    response = api_client.post(revoke_url(user.pk), HTTP_X_API_KEY=key)

    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert not DeviceSession.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert set(DeviceSession.objects.values_list("revoke_reason", flat=True)) == {"service"}
    me = api_client.get("/api/v1/me/", **bearer(first["access"]))
    assert me.status_code == 401
    assert me.json()["code"] == "session_revoked"
    user.refresh_from_db()
    assert user.sessions_version == 1  # browser sessions end too


@pytest.mark.django_db
def test_revoke_sessions_of_an_unknown_user_is_404(api_client, make_api_key):
    _, key = make_api_key(scopes=["sessions:revoke"])
    response = api_client.post(revoke_url(999999), HTTP_X_API_KEY=key)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_revoke_sessions_needs_its_scope(api_client, make_api_key, user, sign_in, bearer):
    device = sign_in().json()
    _, key = make_api_key(scopes=["users:read", "tokens:introspect"])
    response = api_client.post(revoke_url(user.pk), HTTP_X_API_KEY=key)
    assert response.status_code == 403
    assert response.json() == {
        "code": "insufficient_scope",
        "detail": "This API key lacks the scope sessions:revoke.",
        "required_scope": "sessions:revoke",
    }
    # Refused before anything was done: the user is still signed in everywhere.
    assert api_client.get("/api/v1/me/", **bearer(device["access"])).status_code == 200
    assert DeviceSession.objects.get().revoked_at is None
    user.refresh_from_db()
    assert user.sessions_version == 0


@pytest.mark.parametrize("token", [" ", "\u0085\t", "\n"])
def test_introspect_a_whitespace_token_is_inactive_not_a_blank_field(introspect, token):
    """The schema takes any non-empty string: whitespace is a token that is not live
    (200 inactive), not a 400 "may not be blank" after trimming (CI's fuzz seed 712135350)."""
    response = introspect(token)

    assert response.status_code == 200
    assert response.json() == {"active": False}
