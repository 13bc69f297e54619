"""Social sign-in in a real browser: the provider button on the sign-in page, the stub
provider's own page (tests/oidc_provider.py, on 127.0.0.1: another site than the live
server's localhost), and back signed in on the account page."""

import pytest
from allauth.socialaccount.models import SocialAccount

from accounts.models import User

pytestmark = pytest.mark.browser


def test_sign_in_through_the_stub_provider(live_server, page, oidc_provider, artifacts):
    oidc_provider.consent_page = True
    csp_refusals = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and csp_refusals.append(message.text)
        ),
    )

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in with Stub ID").click()
    page.wait_for_url(f"{oidc_provider.issuer}/authorize?*")
    assert page.get_by_role("heading", name="Stub ID").is_visible()
    page.get_by_role("button", name="Continue as Ada").click()

    page.wait_for_url(f"{live_server.url}/accounts/")
    assert page.get_by_role("heading", name="Your account", exact=True).is_visible()
    assert page.get_by_role("definition").filter(has_text="ada@example.com").is_visible()
    page.screenshot(path=str(artifacts / "social-sign-in.png"), full_page=True)
    assert csp_refusals == []
    user = User.objects.get()
    assert SocialAccount.objects.get().user == user


def test_a_cancelled_sign_in_is_a_message_on_the_sign_in_page(live_server, page, oidc_provider):
    oidc_provider.consent_page = True
    oidc_provider.deny = True

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in with Stub ID").click()
    page.get_by_role("button", name="Continue as Ada").click()

    page.wait_for_url(f"{live_server.url}/accounts/login/")
    assert page.get_by_text("The sign-in with Stub ID was cancelled.").is_visible()
    assert not User.objects.exists()
