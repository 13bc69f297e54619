"""Second factors in a real browser: enrol TOTP on the account page (the secret read from
the page), sign out, sign in with the password and a code; then add a passkey and sign in
with it alone, through Chromium's virtual WebAuthn authenticator (DevTools protocol)."""

import re
from importlib import import_module

import pytest

from accounts import auth
from accounts.models import AuthEvent

pytestmark = pytest.mark.browser


@pytest.fixture
def relying_party(live_server, settings):
    """The live server's origin is the relying party (http://localhost is a secure
    context, so the browser offers WebAuthn there)."""
    host = re.match(r"https?://([^:/]+)", live_server.url).group(1)
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "WEBAUTHN_RP_ID": host,
        "WEBAUTHN_ORIGINS": live_server.url,
    }
    return host


@pytest.fixture
def virtual_authenticator(page):
    """A platform authenticator holding discoverable credentials, verifying its user."""
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    added = devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return devtools, added["authenticatorId"]


def password_step(page, live_server, user, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or e-mail").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page, live_server):
    page.locator("main").get_by_role("button", name="Sign out of this browser").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")


def test_totp_then_a_passkey(
    live_server,
    page,
    user,
    password,
    mfa_clock,
    relying_party,
    virtual_authenticator,
    artifacts,
    settings,
):
    # Signed in with the password alone, the user sets up an authenticator app.
    password_step(page, live_server, user, password)
    page.wait_for_url(f"{live_server.url}/accounts/")
    page.get_by_role("button", name="Set up an authenticator app").click()
    page.wait_for_load_state()
    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret)
    assert page.locator("figure.qr svg").is_visible()
    page.screenshot(path=str(artifacts / "mfa-totp-setup.png"), full_page=True)
    page.get_by_label("Code", exact=True).fill(mfa_clock.code(secret))
    page.get_by_role("button", name="Turn on").click()
    page.wait_for_load_state()
    codes = page.locator("ol.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name=re.compile("back to my account")).click()
    page.wait_for_url(re.compile(r"/accounts/(#second-factors)?$"))
    assert page.get_by_text("10 unused recovery codes left.").is_visible()

    # Signed out, the password alone no longer signs in: the code page asks for a code.
    sign_out(page, live_server)
    mfa_clock.advance(30)  # the set-up's code is used up; the app shows the next one
    password_step(page, live_server, user, password)
    page.wait_for_url(f"{live_server.url}/accounts/login/mfa/")
    page.get_by_label("Code", exact=True).fill("000000")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    assert "The code is wrong or was already used." in page.locator("main").inner_text()
    page.get_by_label("Code", exact=True).fill(mfa_clock.code(secret))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{live_server.url}/accounts/")
    assert page.get_by_role("heading", name="Your account").is_visible()

    # A passkey, made by the virtual authenticator and stored through the API.
    page.get_by_label("Passkey name").fill("Chromium's key")
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_role("button", name="Remove the passkey Chromium's key").wait_for()
    devtools, authenticator_id = virtual_authenticator
    credentials = devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert [c["isResidentCredential"] for c in credentials["credentials"]] == [True]

    # Signed out, the passkey alone signs in: no password, no code.
    sign_out(page, live_server)
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(f"{live_server.url}/accounts/")
    assert page.get_by_role("heading", name="Your account").is_visible()
    page.screenshot(path=str(artifacts / "mfa-account.png"), full_page=True)
    assert AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.MFA_FACTOR_ADDED).count() == 2
    cookie = next(c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    session = import_module(settings.SESSION_ENGINE).SessionStore(cookie["value"])
    assert session[auth.SESSION_AMR_KEY] == ["hwk", "user", "mfa"]


def test_a_first_passkey_shows_its_recovery_codes_once(
    live_server, page, user, password, relying_party, virtual_authenticator
):
    password_step(page, live_server, user, password)
    page.wait_for_url(f"{live_server.url}/accounts/")
    page.get_by_label("Passkey name").fill("Laptop")
    page.get_by_role("button", name="Add a passkey").click()
    codes = page.locator("#passkey-recovery-codes ol code")
    codes.first.wait_for()
    shown = codes.all_inner_texts()
    assert len(shown) == 10
    page.get_by_role("link", name="I have saved them").click()
    page.wait_for_url(f"{live_server.url}/accounts/")
    assert page.get_by_text("10 unused recovery codes left.").is_visible()
    assert not page.get_by_text(shown[0]).count()  # not shown again
    assert page.get_by_role("button", name="Remove the passkey Laptop").is_visible()
