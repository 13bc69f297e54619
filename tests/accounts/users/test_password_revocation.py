"""A password change or reset ends the user's other sessions, whatever the route."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import AuthEvent, DeviceSession

NEW_PASSWORD = "a-brand-new-passphrase-42"


def active_sids(user):
    live = DeviceSession.objects.filter(user=user, revoked_at__isnull=True)
    return {str(pk) for pk in live.values_list("pk", flat=True)}


def password_events(user):
    kinds = [AuthEvent.Kind.PASSWORD_CHANGED, AuthEvent.Kind.PASSWORD_RESET]
    events = AuthEvent.objects.filter(user=user, kind__in=kinds)
    return list(events.values_list("kind", "actor"))


def revocation_events(session_id):
    events = AuthEvent.objects.filter(kind=AuthEvent.Kind.SESSION_REVOKED, session_id=session_id)
    return list(events.values_list("detail", flat=True))


@pytest.mark.django_db
def test_api_password_change_keeps_the_caller_and_revokes_the_other_devices(
    api_client, sign_in, bearer, refresh, user, password
):
    caller = sign_in(device_id="phone").json()
    other = sign_in(device_id="laptop").json()

    response = api_client.post(
        "/api/v1/auth/password/change/",
        {"old_password": password, "new_password": NEW_PASSWORD},
        format="json",
        **bearer(caller["access"]),
    )

    assert response.status_code == 204
    assert active_sids(user) == {caller["device"]["id"]}
    assert api_client.get("/api/v1/me/", **bearer(caller["access"])).status_code == 200
    refused = api_client.get("/api/v1/me/", **bearer(other["access"]))
    assert refused.status_code == 401
    assert refused.json()["code"] == "session_revoked"
    revoked = DeviceSession.objects.get(pk=other["device"]["id"])
    assert revoked.revoke_reason == "password_changed"
    rotated = refresh(other["refresh"], device_id="laptop")
    assert (rotated.status_code, rotated.json()["code"]) == (401, "session_revoked")
    assert refresh(caller["refresh"], device_id="phone").status_code == 200
    # One audit event naming the user, one revocation per other device: never twice.
    assert password_events(user) == [("password_changed", user.username)]
    assert revocation_events(other["device"]["id"]) == [{"reason": "password_changed"}]


@pytest.mark.django_db
def test_api_password_change_with_a_wrong_old_password_revokes_nothing(
    api_client, sign_in, bearer, user
):
    caller = sign_in(device_id="phone").json()
    sign_in(device_id="laptop")
    response = api_client.post(
        "/api/v1/auth/password/change/",
        {"old_password": "wrong", "new_password": NEW_PASSWORD},
        format="json",
        **bearer(caller["access"]),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "old_password" in response.json()["errors"]
    assert len(active_sids(user)) == 2


@pytest.mark.django_db
def test_html_password_change_revokes_every_device_and_keeps_the_browser(
    client, signed_in_browser, sign_in, api_client, bearer, user, password
):
    phone = sign_in(device_id="phone").json()
    other_browser = signed_in_browser(user)
    client.force_login(user)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert active_sids(user) == set()
    assert client.get("/accounts/").status_code == 200
    assert other_browser.get("/accounts/").status_code == 302
    refused = api_client.get("/api/v1/me/", **bearer(phone["access"]))
    assert (refused.status_code, refused.json()["code"]) == (401, "session_revoked")
    assert password_events(user) == [("password_changed", user.username)]
    assert revocation_events(phone["device"]["id"]) == [{"reason": "password_changed"}]


@pytest.mark.django_db
def test_password_reset_revokes_every_session(api_client, sign_in, bearer, signed_in_browser, user):
    phone = sign_in(device_id="phone").json()
    sign_in(device_id="laptop")
    browser = signed_in_browser(user)
    user.refresh_from_db()  # signing in set last_login, which the reset token covers
    response = api_client.post(
        "/api/v1/auth/password/reset/confirm/",
        {
            "uid": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
            "new_password": NEW_PASSWORD,
        },
        format="json",
    )
    assert response.status_code == 204
    assert active_sids(user) == set()
    assert set(DeviceSession.objects.values_list("revoke_reason", flat=True)) == {"password_reset"}
    refused = api_client.get("/api/v1/me/", **bearer(phone["access"]))
    assert (refused.status_code, refused.json()["code"]) == (401, "session_revoked")
    assert browser.get("/accounts/").status_code == 302
    assert password_events(user) == [("password_reset", "password-reset link")]
    assert revocation_events(phone["device"]["id"]) == [{"reason": "password_reset"}]
