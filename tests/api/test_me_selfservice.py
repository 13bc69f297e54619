"""PATCH and DELETE /api/v1/me/: a user edits their names and deletes their own account
(accounts.users.profiles, accounts.users.deletion)."""

import pytest

from accounts.models import AuthEvent, DeviceSession

ME_URL = "/api/v1/me/"
TOKEN_URL = "/api/v1/auth/token/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens(sign_in):
    """The access and refresh tokens of a fresh sign-in of `user`."""
    body = sign_in().json()
    return body["access"], body["refresh"]


def test_patch_names_seen_by_the_next_get(api_client, bearer, tokens, user):
    access, _ = tokens
    response = api_client.patch(
        ME_URL, {"first_name": "Ada", "last_name": "Lovelace"}, format="json", **bearer(access)
    )
    assert response.status_code == 200
    assert response.json()["first_name"] == "Ada"
    again = api_client.get(ME_URL, **bearer(access)).json()
    assert (again["first_name"], again["last_name"]) == ("Ada", "Lovelace")
    assert again["username"] == user.username


def test_patch_ignores_other_fields(api_client, bearer, tokens, user):
    access, _ = tokens
    response = api_client.patch(
        ME_URL,
        {"last_name": "Byron", "email": "other@example.com", "is_staff": True},
        format="json",
        **bearer(access),
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["last_name"], body["email"], body["is_staff"]) == ("Byron", user.email, False)


@pytest.mark.parametrize("body", [{"first_name": "x" * 151}, {"last_name": 42}])
def test_patch_bad_input_is_invalid_and_nothing_changes(api_client, bearer, tokens, user, body):
    access, _ = tokens
    before = api_client.get(ME_URL, **bearer(access)).json()
    response = api_client.patch(
        ME_URL, {"first_name": "Ada", **body}, format="json", **bearer(access)
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) == set(body)
    assert api_client.get(ME_URL, **bearer(access)).json() == before


def test_delete_with_a_wrong_password_changes_nothing(api_client, bearer, tokens, user, password):
    access, _ = tokens
    response = api_client.delete(ME_URL, {"password": "wrong"}, format="json", **bearer(access))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "password" in response.json()["errors"]
    user.refresh_from_db()
    assert user.is_active
    assert user.deletion_requested_at is None
    assert api_client.get(ME_URL, **bearer(access)).status_code == 200
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.ACCOUNT_DELETION_REQUESTED).exists()


def test_delete_wrong_password_counts_toward_the_lockout(
    api_client, bearer, tokens, settings, password
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 2}
    access, _ = tokens
    for _ in range(2):
        api_client.delete(ME_URL, {"password": "wrong"}, format="json", **bearer(access))
    response = api_client.delete(ME_URL, {"password": password}, format="json", **bearer(access))
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"


def test_delete_ends_every_session_and_sign_in_is_refused(
    api_client, bearer, refresh, sign_in, tokens, user, password
):
    access, refresh_token = tokens
    other_access = sign_in(device_id="tablet-1").json()["access"]
    response = api_client.delete(ME_URL, {"password": password}, format="json", **bearer(access))
    assert response.status_code == 204
    for token in (access, other_access):
        gone = api_client.get(ME_URL, **bearer(token))
        assert (gone.status_code, gone.json()["code"]) == (401, "session_revoked")
    refused = refresh(refresh_token)
    assert (refused.status_code, refused.json()["code"]) == (401, "session_revoked")
    assert not DeviceSession.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert set(DeviceSession.objects.filter(user=user).values_list("revoke_reason", flat=True)) == {
        DeviceSession.RevokeReason.USER_DELETED
    }
    # Refused as an unknown name is.
    again = api_client.post(
        TOKEN_URL,
        {"username": user.username, "password": password, "device_id": "phone-2"},
        format="json",
    )
    unknown = api_client.post(
        TOKEN_URL,
        {"username": "nobody-at-all", "password": password, "device_id": "phone-2"},
        format="json",
    )
    assert again.status_code == unknown.status_code == 401
    assert again.json() == unknown.json()
    assert again.json()["code"] == "invalid_credentials"
    user.refresh_from_db()
    assert not user.is_active
    assert user.deletion_requested_at is not None
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.ACCOUNT_DELETION_REQUESTED)
    assert (event.user_id, event.username) == (user.pk, user.username)


def test_delete_ends_browser_sessions(
    api_client, bearer, tokens, user, password, signed_in_browser
):
    browser = signed_in_browser(user)
    assert browser.get(ME_URL).status_code == 200
    access, _ = tokens
    assert (
        api_client.delete(ME_URL, {"password": password}, format="json", **bearer(access))
    ).status_code == 204
    gone = browser.get(ME_URL)
    assert gone.status_code == 401, gone.content


def test_delete_with_mfa_needs_a_right_code(
    api_client, bearer, tokens, user, password, totp_enrol, mfa_clock
):
    secret, _ = totp_enrol(user)
    access, _ = tokens
    missing = api_client.delete(ME_URL, {"password": password}, format="json", **bearer(access))
    wrong = api_client.delete(
        ME_URL, {"password": password, "code": "000000"}, format="json", **bearer(access)
    )
    for response in (missing, wrong):
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert "code" in response.json()["errors"]
    user.refresh_from_db()
    assert user.is_active
    assert user.deletion_requested_at is None
    if mfa_clock.code(secret) == "000000":
        mfa_clock.advance(30)
    right = api_client.delete(
        ME_URL,
        {"password": password, "code": mfa_clock.code(secret)},
        format="json",
        **bearer(access),
    )
    assert right.status_code == 204
    user.refresh_from_db()
    assert not user.is_active
