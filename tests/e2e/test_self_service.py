"""A person's whole account life in a real browser: sign up, follow the verification link
from the captured e-mail and confirm, sign in (the new-device e-mail goes out), change the
e-mail address (the new one's link followed, the old one told), delete the account from
the account page, and find that signing in again fails. The live server runs in this
process, so its e-mails (the immediate task backend, locmem) land in `mailoutbox`."""

import re

import pytest
from django.contrib.auth import get_user_model

from accounts.conf import kit_settings

pytestmark = pytest.mark.browser

USERNAME = "grace"
PASSWORD = "a-long-passphrase-for-grace-42"
FIRST = "grace@example.com"
SECOND = "grace.hopper@example.org"
LINK = re.compile(r"https?://[^/\s]+(/accounts/email/verify/[^\s]+/)")


def mails_to(outbox, address):
    return [m for m in outbox if m.to == [address]]


def verification_path(message):
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def sign_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()


def confirm_link(page, live_server, path, address):
    """Follow a verification link: the page names the address and the account, and asks;
    confirm."""
    page.goto(f"{live_server.url}{path}")
    question = f"Confirm that {address} is the e-mail address of the account {USERNAME}."
    assert page.get_by_text(question).is_visible()
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "Your e-mail address is confirmed."


def test_sign_up_verify_sign_in_change_the_address_and_delete_the_account(
    live_server, page, settings, mailoutbox, artifacts
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True}

    # Sign up: the page says to check the inbox; the e-mail carries the link.
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("E-mail").fill(FIRST)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Check your e-mail").is_visible()
    [verification] = mails_to(mailoutbox, FIRST)

    # Not verified yet: the sign-in is refused with a message.
    sign_in(page, live_server, USERNAME, PASSWORD)
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    assert "not verified yet" in page.get_by_role("alert").inner_text()

    # The link, then the button: verified; now the password signs in.
    confirm_link(page, live_server, verification_path(verification), FIRST)
    mailoutbox.clear()
    sign_in(page, live_server, USERNAME, PASSWORD)
    page.wait_for_url(f"{live_server.url}/accounts/")
    assert page.get_by_role("heading", name="Your account", exact=True).is_visible()
    # A browser the account had never used: the new-device e-mail names it.
    [notice] = mails_to(mailoutbox, FIRST)
    assert notice.subject.startswith(f"{kit_settings.SITE_NAME}: new sign-in from ")
    assert "/accounts/devices/revoke/" in notice.body

    # Change the address: it stays the old one until the new one's link is followed.
    mailoutbox.clear()
    email_form = page.locator("#email")
    email_form.get_by_label("New e-mail address").fill(SECOND)
    email_form.get_by_label("Your password").fill(PASSWORD)
    email_form.get_by_role("button", name="Change e-mail").click()
    page.wait_for_load_state()
    assert f"Check the inbox of {SECOND}" in page.locator("ul.messages").inner_text()
    assert get_user_model().objects.get(username=USERNAME).email == FIRST
    [change] = mails_to(mailoutbox, SECOND)
    confirm_link(page, live_server, verification_path(change), SECOND)
    assert mails_to(mailoutbox, FIRST), "the old address is told"
    page.goto(f"{live_server.url}/accounts/")
    assert page.locator("dl.profile").get_by_text(SECOND).is_visible()

    # Delete the account: the page asks first, then says what happens to the data.
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    section = page.locator("#delete-account")
    section.get_by_label("Your password").fill(PASSWORD)
    page.screenshot(path=str(artifacts / "account-delete.png"), full_page=True)
    section.get_by_role("button", name="Delete my account").click()
    page.wait_for_load_state()
    assert asked == [
        "Delete your account? Every device is signed out and you cannot sign in again."
    ]
    assert page.get_by_role("heading", name="Your account is deleted").is_visible()
    days = kit_settings.DELETION_GRACE_DAYS
    assert page.get_by_text(f"Your personal data is erased after {days} days.").is_visible()
    user = get_user_model().objects.get(username=USERNAME)
    assert not user.is_active
    assert user.deletion_requested_at is not None

    # Signed out, and the password no longer signs in (as for any wrong credentials).
    page.goto(f"{live_server.url}/accounts/")
    assert page.url == f"{live_server.url}/accounts/login/?next=/accounts/"
    sign_in(page, live_server, USERNAME, PASSWORD)
    assert page.url == f"{live_server.url}/accounts/login/"
    assert page.get_by_role("alert").inner_text().startswith("Please enter a correct")
