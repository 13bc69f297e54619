"""The cookie transport of browser apps (contract: "Cookie transport"), with regression
tests for drf-cookie-jwtauth's faults: CSRF-free cookie auth, no Max-Age, logout bypass,
a refresh token accepted in the access cookie."""

import pytest
from django.test import Client

from accounts.devices.tokens import decode_access
from accounts.models import DeviceSession

pytestmark = pytest.mark.django_db

CSRF_URL = "/api/v1/auth/csrf/"
LOGIN_URL = "/api/v1/auth/cookie/login/"
REFRESH_URL = "/api/v1/auth/cookie/refresh/"
LOGOUT_URL = "/api/v1/auth/cookie/logout/"
ME_URL = "/api/v1/me/"
LOGOUT_ALL_URL = "/api/v1/auth/logout-all/"
COOKIE_PATH = "/api/v1/auth/cookie/"


@pytest.fixture
def browser():
    """A browser: Django's client with CSRF checks on, as a real browser gets them."""
    return Client(enforce_csrf_checks=True)


def csrf_header(client):
    if "csrftoken" not in client.cookies:
        assert client.get(CSRF_URL).status_code == 204
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def cookie_login(client, user, password, expect=200, **extra):
    response = client.post(
        LOGIN_URL,
        {"username": user.username, "password": password, **extra},
        content_type="application/json",
        **csrf_header(client),
    )
    assert response.status_code == expect, response.content
    return response


def test_csrf_route_sets_the_cookie(browser):
    response = browser.get(CSRF_URL)
    assert response.status_code == 204
    assert response.content == b""
    assert response.cookies["csrftoken"].value


def test_login_sets_cookies_never_the_body(browser, user, password, settings):
    settings.DEBUG = False
    response = cookie_login(browser, user, password)

    body = response.json()
    session = DeviceSession.objects.get()
    assert body == {
        "device": {"id": str(session.pk), "device_id": session.device_id, "name": session.name},
        "access_expires_in": 300,
    }
    access, refresh = response.cookies["access_token"], response.cookies["refresh_token"]
    assert access.value not in response.content.decode()
    assert refresh.value not in response.content.decode()
    for cookie in (access, refresh, response.cookies["device_id"]):
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
        assert cookie["secure"] is True
        assert int(cookie["max-age"]) > 0
    assert access["path"] == "/"
    assert refresh["path"] == COOKIE_PATH
    assert response.cookies["device_id"]["path"] == COOKIE_PATH
    assert int(refresh["max-age"]) == settings.JWT_REFRESH_TOKEN_LIFETIME
    assert int(response.cookies["device_id"]["max-age"]) >= 365 * 24 * 3600
    assert response.cookies["device_id"].value == session.device_id
    assert decode_access(access.value).session_id == session.pk


def test_cookies_are_not_secure_in_debug(browser, user, password, settings):
    settings.DEBUG = True
    response = cookie_login(browser, user, password)
    assert not response.cookies["access_token"]["secure"]
    assert not response.cookies["refresh_token"]["secure"]


def test_cookie_authenticates_api_requests(browser, user, password):
    cookie_login(browser, user, password)
    response = browser.get(ME_URL)
    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_same_browser_signing_in_again_replaces_its_session(browser, user, password):
    first = cookie_login(browser, user, password).json()
    second = cookie_login(browser, user, password)
    assert "device_id" not in second.cookies  # set once, then reused
    second = second.json()

    assert second["device"]["device_id"] == first["device"]["device_id"]
    assert second["device"]["id"] != first["device"]["id"]
    old = DeviceSession.objects.get(pk=first["device"]["id"])
    assert old.revoke_reason == "replaced"
    assert DeviceSession.objects.filter(revoked_at__isnull=True).count() == 1


def test_two_browsers_are_two_devices(user, password):
    a, b = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    cookie_login(a, user, password)
    cookie_login(b, user, password)
    assert DeviceSession.objects.filter(revoked_at__isnull=True).count() == 2


def test_login_body_has_no_device_id_field(browser, user, password):
    response = cookie_login(browser, user, password, device_id="attacker-chosen")
    assert response.json()["device"]["device_id"] != "attacker-chosen"


def test_wrong_password_is_invalid_credentials_and_sets_no_cookie(browser, user):
    response = browser.post(
        LOGIN_URL,
        {"username": user.username, "password": "wrong"},
        content_type="application/json",
        **csrf_header(browser),
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert "access_token" not in response.cookies


def test_login_is_behind_the_lockout(browser, user, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 2}
    headers = csrf_header(browser)
    body = {"username": user.username, "password": "wrong"}
    for _ in range(2):
        browser.post(LOGIN_URL, body, content_type="application/json", **headers)
    response = browser.post(LOGIN_URL, body, content_type="application/json", **headers)
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"
    assert int(response["Retry-After"]) > 0


def test_login_sets_the_device_trust_cookie(browser, user, password, settings):
    settings.DEBUG = False
    response = cookie_login(browser, user, password)

    cookie = response.cookies["device_trust"]
    assert cookie.value
    assert cookie.value not in response.content.decode()
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] is True
    assert cookie["path"] == "/"
    assert cookie["max-age"] == settings.ACCOUNTS["SESSION_MAX_AGE"]


def test_the_trust_cookie_passes_the_account_lock_an_attacker_set(
    browser, user, password, settings
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 2}
    cookie_login(browser, user, password)
    attacker = Client(enforce_csrf_checks=True)
    for _ in range(2):
        cookie_login(attacker, user, "wrong", expect=401)
    cookie_login(attacker, user, password, expect=429)

    cookie_login(browser, user, password)  # the owner's browser sends device_trust
    browser.cookies.pop("device_trust")
    cookie_login(browser, user, password, expect=429)


def test_device_limit_applies(browser, user, password, settings, sign_in):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 1}
    sign_in(device_id="phone")
    response = cookie_login(browser, user, password, expect=403)
    assert response.json()["code"] == "device_limit_reached"
    assert len(response.json()["devices"]) == 1


# --- CSRF -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LOGIN_URL, REFRESH_URL, LOGOUT_URL])
def test_cookie_routes_need_csrf(browser, url, user, password):
    browser.get(CSRF_URL)  # the cookie alone is not enough: the header must match it
    response = browser.post(
        url, {"username": user.username, "password": password}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert "access_token" not in response.cookies


def test_wrong_csrf_header_is_refused(browser, user, password):
    cookie_login(browser, user, password)
    response = browser.post(LOGOUT_ALL_URL, HTTP_X_CSRFTOKEN="x" * 32)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


def test_cookie_authenticated_unsafe_request_needs_csrf(browser, user, password):
    cookie_login(browser, user, password)
    response = browser.post(LOGOUT_ALL_URL)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert DeviceSession.objects.filter(revoked_at__isnull=True).count() == 1

    response = browser.post(LOGOUT_ALL_URL, **csrf_header(browser))
    assert response.status_code == 204
    assert DeviceSession.objects.filter(revoked_at__isnull=True).count() == 0


def test_safe_cookie_request_needs_no_csrf(browser, user, password):
    cookie_login(browser, user, password)
    browser.cookies.pop("csrftoken")
    assert browser.get(ME_URL).status_code == 200


def test_bearer_takes_precedence_and_needs_no_csrf(browser, user, password, make_user, sign_in):
    cookie_login(browser, user, password)  # the browser's cookies belong to `user`
    other = make_user(username="other")
    access = sign_in(username=other.username).json()["access"]
    me = browser.get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {access}")
    assert me.json()["username"] == "other"
    # Unsafe, Bearer, no CSRF header: fine (the cookie is not what authenticates it).
    response = browser.post(LOGOUT_ALL_URL, HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 204
    assert browser.get(ME_URL).json()["username"] == user.username


def test_bad_bearer_is_not_rescued_by_a_good_cookie(browser, user, password):
    cookie_login(browser, user, password)
    response = browser.get(ME_URL, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


# --- refresh ----------------------------------------------------------------------------


def test_refresh_rotates_both_cookies(browser, user, password):
    login = cookie_login(browser, user, password)
    old_refresh = login.cookies["refresh_token"].value
    response = browser.post(REFRESH_URL, **csrf_header(browser))
    assert response.status_code == 200
    assert set(response.json()) == {"device", "access_expires_in"}
    new_refresh = response.cookies["refresh_token"].value
    assert new_refresh != old_refresh
    assert response.cookies["refresh_token"]["path"] == COOKIE_PATH
    assert response.cookies["access_token"]["httponly"] is True
    assert new_refresh not in response.content.decode()
    assert browser.get(ME_URL).status_code == 200


def _expect_401_and_cleared(response, code):
    assert response.status_code == 401
    assert response.json()["code"] == code
    for name in ("access_token", "refresh_token"):
        assert response.cookies[name].value == ""
        assert response.cookies[name]["max-age"] == 0


def test_refresh_without_cookie_is_token_invalid(browser):
    _expect_401_and_cleared(browser.post(REFRESH_URL, **csrf_header(browser)), "token_invalid")


def test_refresh_with_garbage_cookie_is_token_invalid(browser, user, password):
    cookie_login(browser, user, password)
    browser.cookies["refresh_token"] = "garbage"
    _expect_401_and_cleared(browser.post(REFRESH_URL, **csrf_header(browser)), "token_invalid")


def test_refresh_reuse_revokes_the_session(browser, user, password):
    login = cookie_login(browser, user, password)
    stolen = login.cookies["refresh_token"].value
    assert browser.post(REFRESH_URL, **csrf_header(browser)).status_code == 200
    browser.cookies["refresh_token"] = stolen
    _expect_401_and_cleared(browser.post(REFRESH_URL, **csrf_header(browser)), "refresh_reused")
    assert DeviceSession.objects.get().revoke_reason == "refresh_reused"


def test_refresh_is_bound_to_the_device_cookie(browser, user, password):
    cookie_login(browser, user, password)
    browser.cookies["device_id"] = "another-browser"
    _expect_401_and_cleared(browser.post(REFRESH_URL, **csrf_header(browser)), "device_mismatch")


def test_refresh_after_logout_is_session_revoked(browser, user, password):
    login = cookie_login(browser, user, password)
    refresh_token = login.cookies["refresh_token"].value
    assert browser.post(LOGOUT_URL, **csrf_header(browser)).status_code == 204
    browser.cookies["refresh_token"] = refresh_token
    _expect_401_and_cleared(browser.post(REFRESH_URL, **csrf_header(browser)), "session_revoked")


# --- logout -----------------------------------------------------------------------------


def test_logout_revokes_and_deletes_cookies(browser, user, password):
    login = cookie_login(browser, user, password)
    access = login.cookies["access_token"].value
    response = browser.post(LOGOUT_URL, **csrf_header(browser))
    assert response.status_code == 204
    assert response.cookies["access_token"]["max-age"] == 0
    assert response.cookies["refresh_token"]["max-age"] == 0
    assert response.cookies["refresh_token"]["path"] == COOKIE_PATH
    assert DeviceSession.objects.get().revoke_reason == "logout"
    # The old access token no longer works anywhere (not only in this browser).
    response = Client().get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.json()["code"] == "session_revoked"


def test_logout_twice_and_without_cookies_is_204(browser, user, password):
    cookie_login(browser, user, password)
    headers = csrf_header(browser)
    assert browser.post(LOGOUT_URL, **headers).status_code == 204
    assert browser.post(LOGOUT_URL, **headers).status_code == 204
    fresh = Client(enforce_csrf_checks=True)
    assert fresh.post(LOGOUT_URL, **csrf_header(fresh)).status_code == 204


def test_logout_with_only_the_access_cookie(browser, user, password):
    cookie_login(browser, user, password)
    browser.cookies.pop("refresh_token")
    assert browser.post(LOGOUT_URL, **csrf_header(browser)).status_code == 204
    assert DeviceSession.objects.get().revoke_reason == "logout"


# --- prior-art regressions (drf-cookie-jwtauth) -----------------------------------------


def test_refresh_token_in_the_access_cookie_is_refused(browser, user, password):
    login = cookie_login(browser, user, password)
    browser.cookies["access_token"] = login.cookies["refresh_token"].value
    response = browser.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_logged_out_access_cookie_plus_someone_elses_refresh_cookie(user, password, make_user):
    alice, mallory = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    alice_access = cookie_login(alice, user, password).cookies["access_token"].value
    assert alice.post(LOGOUT_URL, **csrf_header(alice)).status_code == 204
    other = make_user(username="mallory")
    mallory_refresh = cookie_login(mallory, other, password).cookies["refresh_token"].value

    attacker = Client(enforce_csrf_checks=True)
    attacker.cookies["access_token"] = alice_access
    attacker.cookies["refresh_token"] = mallory_refresh  # the test client sends it everywhere
    response = attacker.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"
    assert "access_token" not in response.cookies  # no silent refresh


def test_expired_access_cookie_is_token_invalid_not_silently_refreshed(
    browser, user, password, settings
):
    settings.JWT_ACCESS_TOKEN_LIFETIME = -60  # issued already expired (past the leeway)
    cookie_login(browser, user, password)
    response = browser.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    assert "access_token" not in response.cookies
