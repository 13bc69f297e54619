"""The SPA demo page (/accounts/spa-demo/) in headless Chromium: cookie sign-in, /me, a
refresh after the access token expires, sign-out; JavaScript never sees a token."""

import pytest

from accounts.devices.tokens import decode_access
from accounts.models import DeviceSession

pytestmark = pytest.mark.browser

ACCESS_LIFETIME = 3  # seconds: the test waits for one expiry


def token_cookies(page):
    return {c["name"]: c for c in page.context.cookies() if c["name"].endswith("_token")}


def assert_tokens_hidden_from_javascript(page):
    visible = page.evaluate("document.cookie")
    assert "access_token" not in visible
    assert "refresh_token" not in visible
    for cookie in token_cookies(page).values():
        assert cookie["value"] not in visible
        assert cookie["httpOnly"] is True


@pytest.fixture
def short_access_tokens(settings, monkeypatch):
    """Access tokens that expire within the test, with no clock leeway to wait out."""
    settings.JWT_ACCESS_TOKEN_LIFETIME = ACCESS_LIFETIME
    monkeypatch.setattr("accounts.devices.signing.LEEWAY_SECONDS", 0)


def test_spa_signs_in_survives_expiry_and_signs_out(
    live_server, page, user, password, short_access_tokens
):
    page.goto(f"{live_server.url}/accounts/spa-demo/")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert "csrftoken=" in page.evaluate("document.cookie")

    page.get_by_label("Username or e-mail").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector(f"#me-username:text('{user.username}')")
    assert page.locator("#me-email").inner_text() == user.email
    assert_tokens_hidden_from_javascript(page)
    cookies = token_cookies(page)
    assert cookies["access_token"]["sameSite"] == "Lax"
    assert cookies["refresh_token"]["path"] == "/api/v1/auth/cookie/"
    first_access = cookies["access_token"]["value"]

    # Wait (bounded) until the browser's clock is past the access token's expiry.
    expires_at = decode_access(first_access)["exp"]
    page.wait_for_function(
        "(expiresAt) => Date.now() / 1000 > expiresAt",
        arg=expires_at + 0.2,
        timeout=(ACCESS_LIFETIME + 5) * 1000,
    )
    page.get_by_role("button", name="Reload my profile").click()
    page.wait_for_selector("body[data-refreshes='1']", state="attached")
    # Each load first shows "Loading your profile...": this waits for the reload itself,
    # not the status left by the first load (else Sign out could race the reload).
    page.wait_for_selector("#status:text('Profile loaded.')")
    assert token_cookies(page)["access_token"]["value"] != first_access
    assert_tokens_hidden_from_javascript(page)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#status:text('Signed out.')")
    assert page.get_by_role("button", name="Sign in").is_visible()
    assert token_cookies(page) == {}
    session = DeviceSession.objects.get(user=user)
    assert session.revoke_reason == "logout"

    # Signed out for real: the API refuses the browser now.
    assert (
        page.evaluate("fetch('/api/v1/me/', {credentials: 'same-origin'}).then(r => r.status)")
        == 401
    )
