"""A SECRET_KEY rotation (the new key in SECRET_KEY, the old one in SECRET_KEY_FALLBACKS):
what a user signed in under the old key sees. Browser sessions and reset links made with the
old key keep working until the old key is dropped; "sign out everywhere" still ends them."""

import re

import pytest
from django.test import Client

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

OLD_KEY = "old-secret-key-" + "o" * 50
NEW_KEY = "new-secret-key-" + "n" * 50
NEW_PASSWORD = "a-new-passphrase-after-rotation-41"
ACCOUNT_PAGE = "/accounts/"


@pytest.fixture
def rotate(settings):
    """Start under OLD_KEY; rotate(fallbacks=[...]) puts NEW_KEY in SECRET_KEY."""
    settings.SECRET_KEY = OLD_KEY
    settings.SECRET_KEY_FALLBACKS = []

    def _rotate(fallbacks=(OLD_KEY,)):
        settings.SECRET_KEY = NEW_KEY
        settings.SECRET_KEY_FALLBACKS = list(fallbacks)

    return _rotate


def _browser_signed_in(user):
    """A browser signed in through the HTML form, as a person does."""
    browser = Client()
    response = browser.post(
        "/accounts/login/", {"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302, response.content[:300]
    assert browser.get(ACCOUNT_PAGE).status_code == 200
    return browser


def _signed_in(browser):
    """What the user sees: the account page (200) or the sign-in page (302), and the API."""
    page = browser.get(ACCOUNT_PAGE).status_code
    api = browser.get("/api/v1/me/").status_code
    assert (page, api) in {(200, 200), (302, 401)}, (page, api)
    return page == 200


def test_a_browser_session_made_with_the_old_key_survives_the_rotation(user, rotate):
    browser = _browser_signed_in(user)

    rotate()

    assert _signed_in(browser)


def test_the_session_moves_to_the_new_key_so_dropping_the_old_one_keeps_it(user, rotate):
    """The first request after the rotation re-signs the session with the new key: once
    the old key leaves SECRET_KEY_FALLBACKS, a browser that came back meanwhile is still
    signed in."""
    browser = _browser_signed_in(user)
    rotate()
    assert _signed_in(browser)

    rotate(fallbacks=[])

    assert _signed_in(browser)


def test_without_the_old_key_in_the_fallbacks_the_session_ends(user, rotate):
    """The control: the old key is what keeps the session (not a hash that ignores keys)."""
    browser = _browser_signed_in(user)

    rotate(fallbacks=[])

    assert not _signed_in(browser)


def test_sign_out_everywhere_during_the_rotation_ends_an_old_key_session(
    user, rotate, sign_in, bearer
):
    """The old key verifies a session only with the user's current sessions_version: a
    "sign out everywhere" from another device still ends the old-key browser session."""
    browser = _browser_signed_in(user)
    rotate()
    access = sign_in(device_id="phone").json()["access"]

    response = Client().post("/api/v1/auth/logout-all/", **bearer(access))
    assert response.status_code == 204

    assert not _signed_in(browser)


def _reset_link(api_client, mailoutbox, settings, user):
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "PASSWORD_RESET_URL": "https://app.example.com/reset/{uid}/{token}",
    }
    response = api_client.post("/api/v1/auth/password/reset/", {"email": user.email}, format="json")
    assert response.status_code == 202
    uid, token = re.search(
        r"https://app\.example\.com/reset/(\S+)/(\S+)", mailoutbox[-1].body
    ).groups()
    return {"uid": uid, "token": token, "new_password": NEW_PASSWORD}


@pytest.mark.parametrize(("fallbacks", "works"), [((OLD_KEY,), True), ((), False)])
def test_a_reset_link_mailed_before_the_rotation(
    api_client, user, rotate, mailoutbox, settings, sign_in, fallbacks, works
):
    """Works while the old key is a fallback (the new password signs in); refused as an
    invalid token once it is not."""
    body = _reset_link(api_client, mailoutbox, settings, user)

    rotate(fallbacks=fallbacks)
    response = api_client.post("/api/v1/auth/password/reset/confirm/", body, format="json")

    if works:
        assert response.status_code == 204, response.content
        sign_in(device_id="laptop", password=NEW_PASSWORD)
    else:
        assert (response.status_code, response.json()["code"]) == (400, "invalid")
        assert "token" in response.json()["errors"]
        sign_in(device_id="laptop")  # the old password still signs in
