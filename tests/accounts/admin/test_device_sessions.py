"""The admin: device sessions, the user's sessions inline, the audit trail."""

import pytest

from accounts.models import AuthEvent, DeviceSession

ME_URL = "/api/v1/me/"
SESSIONS_URL = "/admin/accounts/devicesession/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, make_user):
    admin = make_user(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_session_list_filters_and_search(admin_client, sign_in, user):
    sign_in(device_id="phone-xyz", device_name="Pixel")
    response = admin_client.get(SESSIONS_URL, {"status": "active", "q": user.username})
    assert response.status_code == 200
    assert b"phone-xyz" in response.content
    assert b"Pixel" in response.content
    response = admin_client.get(SESSIONS_URL, {"status": "revoked"})
    assert b"phone-xyz" not in response.content
    assert admin_client.get(SESSIONS_URL, {"revoke_reason": "admin"}).status_code == 200


def test_revoke_selected_takes_effect_on_next_api_request(
    admin_client, sign_in, api_client, bearer, django_capture_on_commit_callbacks
):
    pair = sign_in().json()
    assert api_client.get(ME_URL, **bearer(pair["access"])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            SESSIONS_URL,
            {"action": "revoke_selected", "_selected_action": [pair["device"]["id"]]},
        )
    assert response.status_code == 302
    session = DeviceSession.objects.get()
    assert session.revoke_reason == "admin"
    event = AuthEvent.objects.get(kind="session_revoked")
    assert event.actor == "root"
    response = api_client.get(ME_URL, **bearer(pair["access"]))
    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"


def test_user_admin_inline_and_revoke_all(
    admin_client, sign_in, user, api_client, bearer, django_capture_on_commit_callbacks
):
    a = sign_in(device_id="dev-a").json()
    sign_in(device_id="dev-b")
    page = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert page.status_code == 200
    assert b"dev-a" in page.content
    assert b"dev-b" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/accounts/user/",
            {"action": "revoke_all_sessions", "_selected_action": [user.pk]},
        )
    assert response.status_code == 302
    assert not DeviceSession.objects.filter(revoked_at__isnull=True).exists()
    assert api_client.get(ME_URL, **bearer(a["access"])).json()["code"] == "session_revoked"
    # The administrator is still signed in.
    assert admin_client.get(SESSIONS_URL).status_code == 200


def test_audit_trail_is_read_only(admin_client, sign_in):
    sign_in()
    event = AuthEvent.objects.get()
    assert admin_client.get("/admin/accounts/authevent/").status_code == 200
    assert admin_client.get(f"/admin/accounts/authevent/{event.pk}/change/").status_code == 200
    assert admin_client.get("/admin/accounts/authevent/add/").status_code == 403
    assert admin_client.post(f"/admin/accounts/authevent/{event.pk}/delete/").status_code == 403
    assert AuthEvent.objects.filter(pk=event.pk).exists()


def test_session_detail_hides_refresh_ids(admin_client, sign_in):
    sign_in()
    session = DeviceSession.objects.get()
    page = admin_client.get(f"{SESSIONS_URL}{session.pk}/change/")
    assert page.status_code == 200
    assert session.refresh_jti.encode() not in page.content
