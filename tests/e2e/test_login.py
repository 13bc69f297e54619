"""The real login page in a real browser: what a person sees."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.browser


def test_login_page_screenshot(live_server, page, artifacts):
    response = page.goto(f"{live_server.url}/accounts/login/")
    assert response.status == 200
    assert page.title() == f"Sign in · {settings.ACCOUNTS['SITE_NAME']}"
    # The stylesheet loaded (served by whitenoise) and applied: full-width button.
    button = page.get_by_role("button", name="Sign in", exact=True)
    assert button.bounding_box()["width"] > 300
    page.screenshot(path=str(artifacts / "login.png"), full_page=True)
    assert (artifacts / "login.png").stat().st_size > 5_000


def test_wrong_password_shows_an_error(live_server, page, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or e-mail").fill(user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/accounts/login/"
    assert page.get_by_role("alert").inner_text().startswith("Please enter a correct")
    assert not [c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME]


def test_sign_in_lands_on_the_account_page_and_sign_out_ends_the_session(
    live_server, page, user, password
):
    page.goto(f"{live_server.url}/accounts/")  # not signed in: sent to the login page
    assert page.url == f"{live_server.url}/accounts/login/?next=/accounts/"
    page.get_by_label("Username or e-mail").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{live_server.url}/accounts/")
    assert page.get_by_role("heading", name="Your account").is_visible()
    assert page.get_by_text(user.email).is_visible()
    session = next(c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"

    page.locator("main").get_by_role("button", name="Sign out of this browser", exact=True).click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/accounts/")
    assert page.url == f"{live_server.url}/accounts/login/?next=/accounts/"
