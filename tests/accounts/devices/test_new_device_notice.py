"""The new-device notice: a sign-in without a valid trust token of the account mails the
user a link that revokes that device session (accounts.devices.new_device)."""

import re
import time
from types import SimpleNamespace

import pytest
from django.core import mail, signing
from django.test import Client

from accounts.conf import kit_settings
from accounts.devices.new_device import LINK_MAX_AGE, LINK_SALT
from accounts.models import DeviceSession

ME_URL = "/api/v1/me/"
COOKIE_LOGIN_URL = "/api/v1/auth/cookie/login/"
SUBJECT = f"{kit_settings.SITE_NAME}: new sign-in from "


@pytest.fixture
def signed_in(sign_in, django_capture_on_commit_callbacks):
    """sign_in() with the on-commit mail run; -> the response."""

    def _signed_in(**extra):
        with django_capture_on_commit_callbacks(execute=True):
            return sign_in(**extra)

    return _signed_in


def notices():
    return [m for m in mail.outbox if m.subject.startswith(SUBJECT)]


def revoke_path(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/devices/revoke/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_first_sign_in_mails_the_notice(user, signed_in):
    response = signed_in(device_name="Pixel 9")
    [message] = notices()
    assert message.to == [user.email]
    assert message.subject == SUBJECT + "Pixel 9"
    session = DeviceSession.objects.get(pk=response.json()["device"]["id"])
    assert "Pixel 9" in message.body
    assert session.ip_address in message.body
    assert session.created_at.strftime("%Y-%m-%d %H:%M") in message.body
    assert revoke_path(message)


def test_sign_in_with_the_accounts_trust_token_is_not_mailed(signed_in):
    trust = signed_in().json()["device"]["trust_token"]
    mail.outbox.clear()
    signed_in(device_id="phone-2", device_trust_token=trust)
    assert notices() == []


def test_trust_token_of_another_account_does_not_count(make_user, password, signed_in, sign_in):
    other = make_user(username="other", email="other@example.com", password=password)
    foreign = sign_in(username=other.username, device_id="x").json()["device"]["trust_token"]
    signed_in(device_trust_token=foreign)
    assert len(notices()) == 1


def test_cookie_sign_in_with_the_trust_cookie_is_not_mailed(
    user, password, api_client, signed_in, django_capture_on_commit_callbacks
):
    api_client.cookies["device_trust"] = signed_in().json()["device"]["trust_token"]
    mail.outbox.clear()
    api_client.enforce_csrf_checks = False
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            COOKIE_LOGIN_URL, {"username": user.username, "password": password}, format="json"
        )
    assert response.status_code == 200, response.content
    assert notices() == []


def test_get_shows_the_page_and_changes_nothing(client, signed_in):
    session_id = signed_in().json()["device"]["id"]
    response = client.get(revoke_path(notices()[0]))
    assert response.status_code == 200
    assert b'method="post"' in response.content
    assert b"csrfmiddlewaretoken" in response.content
    assert DeviceSession.objects.get(pk=session_id).revoked_at is None


def test_post_revokes_that_session_only(api_client, bearer, signed_in):
    kept = signed_in(device_id="laptop").json()
    mail.outbox.clear()
    lost = signed_in(device_id="stolen").json()
    response = Client().post(revoke_path(notices()[0]))
    assert response.status_code == 200
    assert b"is signed out" in response.content
    session = DeviceSession.objects.get(pk=lost["device"]["id"])
    assert session.revoked_at is not None
    assert session.revoke_reason == DeviceSession.RevokeReason.USER
    refused = api_client.get(ME_URL, **bearer(lost["access"]))
    assert (refused.status_code, refused.json()["code"]) == (401, "session_revoked")
    assert api_client.get(ME_URL, **bearer(kept["access"])).status_code == 200


def test_following_it_twice_is_harmless(client, signed_in):
    signed_in()
    path = revoke_path(notices()[0])
    client.post(path)
    again = client.post(path)
    assert again.status_code == 200
    assert b"already signed out" in again.content
    assert client.get(path).status_code == 200


def test_after_seven_days_the_link_has_expired(client, signed_in, monkeypatch):
    session_id = signed_in().json()["device"]["id"]
    path = revoke_path(notices()[0])
    later = time.time() + LINK_MAX_AGE + 1
    monkeypatch.setattr("django.core.signing.time", SimpleNamespace(time=lambda: later))
    response = client.post(path)
    assert response.status_code == 410
    assert b"expired" in response.content
    assert DeviceSession.objects.get(pk=session_id).revoked_at is None


def test_tampered_link_is_refused(client, signed_in):
    session_id = signed_in().json()["device"]["id"]
    path = revoke_path(notices()[0])
    token = path.split("/")[-2]
    tampered = path.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    response = client.post(tampered)
    assert response.status_code == 400
    assert b"not valid" in response.content
    assert DeviceSession.objects.get(pk=session_id).revoked_at is None


def test_link_for_another_users_session_is_refused(client, make_user, password, signed_in):
    session_id = signed_in().json()["device"]["id"]
    other = make_user(username="other", email="other@example.com", password=password)
    forged = signing.TimestampSigner(salt=LINK_SALT).sign_object(
        {"s": session_id, "u": str(other.pk)}
    )
    response = client.post(f"/accounts/devices/revoke/{forged}/")
    assert response.status_code == 400
    assert DeviceSession.objects.get(pk=session_id).revoked_at is None


def test_post_needs_the_csrf_token(signed_in):
    session_id = signed_in().json()["device"]["id"]
    browser = Client(enforce_csrf_checks=True)
    path = revoke_path(notices()[0])
    assert browser.post(path).status_code == 403
    assert DeviceSession.objects.get(pk=session_id).revoked_at is None
    page = browser.get(path)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1)
    assert browser.post(path, {"csrfmiddlewaretoken": token.decode()}).status_code == 200
    assert DeviceSession.objects.get(pk=session_id).revoked_at is not None


def mfa_sign_in(api_client, user, password, code, **fields):
    body = {"username": user.username, "password": password, "device_id": "mfa-1", **fields}
    first = api_client.post("/api/v1/auth/token/", body, format="json")
    assert first.json()["code"] == "mfa_required", first.content
    step = {"mfa_token": first.json()["mfa_token"], "code": code}
    response = api_client.post("/api/v1/auth/token/mfa/", step, format="json")
    assert response.status_code == 200, response.content
    return response


def test_mfa_second_step_mails_an_untrusted_device_only(
    user,
    password,
    api_client,
    signed_in,
    totp_enrol,
    mfa_clock,
    django_capture_on_commit_callbacks,
):
    trust = signed_in().json()["device"]["trust_token"]
    secret, _ = totp_enrol(user)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        mfa_sign_in(api_client, user, password, mfa_clock.code(secret), device_trust_token=trust)
    assert notices() == []
    mfa_clock.advance(30)
    with django_capture_on_commit_callbacks(execute=True):
        mfa_sign_in(api_client, user, password, mfa_clock.code(secret))
    assert len(notices()) == 1


def test_passkey_sign_in_with_the_trust_token_is_not_mailed(
    signed_in, passkey_enrol, passkey_sign_in, authenticator, django_capture_on_commit_callbacks
):
    first = signed_in().json()
    passkey_enrol(first["access"], authenticator)
    mail.outbox.clear()
    trust = {"device_trust_token": first["device"]["trust_token"]}
    with django_capture_on_commit_callbacks(execute=True):
        trusted = passkey_sign_in(authenticator, device_id="phone-2", body=trust)
    assert notices() == []
    with django_capture_on_commit_callbacks(execute=True):
        passkey_sign_in(authenticator, device_id="phone-3", body={"device_trust_token": "forged"})
    [message] = notices()
    # The trusted sign-in's own token keeps the next one quiet too.
    mail.outbox.clear()
    again = {"device_trust_token": trusted.json()["device"]["trust_token"]}
    with django_capture_on_commit_callbacks(execute=True):
        passkey_sign_in(authenticator, device_id="phone-4", body=again)
    assert notices() == []
    assert revoke_path(message)


def test_the_schema_offers_the_trust_token_on_the_passkey_sign_in(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    body = schema["paths"]["/api/v1/auth/passkey/"]["post"]["requestBody"]
    name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    field = schema["components"]["schemas"][name]["properties"]["device_trust_token"]
    assert (field["type"], field["writeOnly"], field["maxLength"]) == ("string", True, 512)
    assert "new-device e-mail" in field["description"]
