"""The account page's device list: a revoke button each, and "sign out everywhere"."""

import pytest
from django.test import Client

from accounts.models import DeviceSession

ME_URL = "/api/v1/me/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf(client):
    client.get("/accounts/")
    return {"csrfmiddlewaretoken": client.cookies["csrftoken"].value}


def test_account_page_lists_active_sessions(browser, sign_in, make_user):
    sign_in(device_id="phone-1", device_name="My phone")
    sign_in(device_id="tablet", device_name="Old tablet")
    sign_in(device_id="tablet", device_name="New tablet")
    sign_in(device_id="x", device_name="Not mine", username=make_user().username)
    page = browser.get("/accounts/").content.decode()
    assert "My phone" in page
    assert "New tablet" in page
    assert "Old tablet" not in page
    assert "Not mine" not in page
    assert "Sign out everywhere" in page


def test_revoke_button(browser, sign_in, api_client, bearer):
    pair = sign_in().json()
    url = f"/accounts/devices/{pair['device']['id']}/revoke/"
    assert browser.post(url).status_code == 403  # no CSRF token
    response = browser.post(url, csrf(browser))
    assert response.status_code == 302
    assert DeviceSession.objects.get().revoke_reason == "user"
    assert api_client.get(ME_URL, **bearer(pair["access"])).json()["code"] == "session_revoked"
    assert browser.post(url, csrf(browser)).status_code == 404


def test_cannot_revoke_another_users_session(browser, sign_in, make_user):
    pair = sign_in(username=make_user().username).json()
    response = browser.post(f"/accounts/devices/{pair['device']['id']}/revoke/", csrf(browser))
    assert response.status_code == 404
    assert DeviceSession.objects.get().revoked_at is None


def test_sign_out_everywhere(browser, sign_in, user, api_client, bearer, refresh, make_user):
    pair = sign_in().json()
    tablet = sign_in(device_id="tablet").json()
    someone_else = sign_in(device_id="x", username=make_user().username).json()
    other_browser = Client()
    other_browser.force_login(user)
    response = browser.post("/accounts/devices/sign-out-everywhere/", csrf(browser))
    assert (response.status_code, response["Location"]) == (302, "/accounts/")
    for device in (pair, tablet):
        me = api_client.get(ME_URL, **bearer(device["access"]))
        assert (me.status_code, me.json()["code"]) == (401, "session_revoked")
    assert refresh(pair["refresh"]).json()["code"] == "session_revoked"
    assert set(DeviceSession.objects.filter(user=user).values_list("revoke_reason", flat=True)) == {
        "logout_all"
    }
    signed_out = other_browser.get("/accounts/")
    assert (signed_out.status_code, signed_out["Location"]) == (
        302,
        "/accounts/login/?next=/accounts/",
    )
    assert browser.get("/accounts/").status_code == 200  # this one stays
    # Another user's device is not touched.
    assert api_client.get(ME_URL, **bearer(someone_else["access"])).status_code == 200


def test_get_does_not_revoke(browser, sign_in):
    pair = sign_in().json()
    response = browser.get(f"/accounts/devices/{pair['device']['id']}/revoke/")
    assert response.status_code == 405
    assert DeviceSession.objects.get().revoked_at is None
