"""The e-mail pages: the verification link's page (GET shows, POST verifies), the sign-in
page refusing an unverified address after the right password (and mailing a new link),
the passkey and second-step pages refusing it too, and the account page's e-mail change."""

import json
import re

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.test import Client

from accounts.models import AuthEvent, BrowserSession, User
from accounts.users.verification import signup_email_address_add
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ACCOUNT = "/accounts/"
CHANGE = "/accounts/email/change/"
KEY = re.compile(r"^([\w-]+:[\w-]+:[\w-]+)$", re.MULTILINE)


def verify_url(key):
    return f"/accounts/email/verify/{key}/"


def key_of(mail):
    (key,) = KEY.findall(mail.body)
    return key


def signed_in(client):
    return client.get(ACCOUNT).status_code == 200


@pytest.fixture
def mandatory(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True, "EMAIL_VERIFICATION": ""}


@pytest.fixture
def unverified(mandatory, make_user):
    user = make_user(username="nova", email="nova@example.com")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    return user


@pytest.fixture
def signed_up(mandatory, client, mailoutbox):
    """A sign-up through the page; -> the key of its verification e-mail."""
    response = client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "email": "grace@example.com",
            "password": "a-brand-new-passphrase-42",
            "password_confirm": "a-brand-new-passphrase-42",
        },
    )
    assert response.status_code == 200
    return key_of(mailoutbox[-1])


# --- the verification page ---------------------------------------------------------------


def test_the_link_shows_a_button_and_only_the_post_verifies(client, signed_up):
    page = client.get(verify_url(signed_up))
    assert page.status_code == 200
    html = page.content.decode()
    assert "grace@example.com" in html
    assert '<form method="post"' in html
    assert "Confirm</button>" in html
    assert not EmailAddress.objects.get().verified  # a mail scanner's GET changes nothing
    done = client.post(verify_url(signed_up))
    assert done.status_code == 200
    assert "Your e-mail address is confirmed." in done.content.decode()
    assert f'href="{LOGIN}"' in done.content.decode()
    assert EmailAddress.objects.get().verified
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.EMAIL_VERIFIED).count() == 1


def test_a_used_or_bad_link_is_a_400_page(client, signed_up):
    assert client.post(verify_url(signed_up)).status_code == 200
    for key in (signed_up, "nonsense", signed_up[:-3] + "abc"):
        for method in (client.get, client.post):
            response = method(verify_url(key))
            assert response.status_code == 400, (key, method)
            assert "invalid, has expired or was already used" in response.content.decode()


def test_the_verification_post_needs_the_csrf_token(signed_up):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(verify_url(signed_up)).status_code == 403
    assert not EmailAddress.objects.get().verified
    page = browser.get(verify_url(signed_up))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    assert browser.post(verify_url(signed_up), {"csrfmiddlewaretoken": token}).status_code == 200
    assert EmailAddress.objects.get().verified


# --- the sign-in page -------------------------------------------------------------------


def test_the_sign_in_page_refuses_an_unverified_address_and_mails_a_new_link(
    client, unverified, mailoutbox
):
    response = client.post(LOGIN, {"username": "nova", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert "not verified yet" in response.content.decode()
    assert not signed_in(client)
    assert BrowserSession.objects.count() == 0
    (mail,) = mailoutbox
    assert mail.to == ["nova@example.com"]
    # Again at once: the same error, no second e-mail.
    client.post(LOGIN, {"username": "nova", "password": DEFAULT_PASSWORD})
    assert len(mailoutbox) == 1
    # The link, then the sign-in works.
    client.post(verify_url(key_of(mail)))
    client.post(LOGIN, {"username": "nova", "password": DEFAULT_PASSWORD})
    assert signed_in(client)


def test_a_wrong_password_tells_nothing_of_the_address(client, unverified, mailoutbox):
    response = client.post(LOGIN, {"username": "nova", "password": "wrong"})
    assert "not verified" not in response.content.decode()
    assert "Please enter a correct" in response.content.decode()
    assert mailoutbox == []


def test_the_sign_up_page_then_the_link_then_sign_in(client, signed_up):
    assert "not verified yet" in (
        client.post(
            LOGIN, {"username": "grace", "password": "a-brand-new-passphrase-42"}
        ).content.decode()
    )
    client.post(verify_url(signed_up))
    client.post(LOGIN, {"username": "grace", "password": "a-brand-new-passphrase-42"})
    assert signed_in(client)


def test_the_second_step_page_refuses_it(client, user, mandatory, enrol_totp, mfa_clock):
    secret, _ = enrol_totp(user)
    client.post(LOGIN, {"username": user.username, "password": DEFAULT_PASSWORD})
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    response = client.post("/accounts/login/mfa/", {"code": mfa_clock.code(secret)}, follow=True)
    assert "not verified yet" in response.content.decode()
    assert not signed_in(client)


def test_the_passkey_sign_in_page_refuses_it(
    client, api_client, user, mandatory, sign_in, passkey_enrol, authenticator
):
    passkey_enrol(sign_in().json()["access"], authenticator)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    begun = api_client.post("/api/v1/auth/passkey/begin/").json()
    credential = authenticator.sign_in(begun["options"])
    response = client.post(
        "/accounts/login/passkey/",
        {"challenge_token": begun["challenge_token"], "credential": json.dumps(credential)},
        follow=True,
    )
    assert "not verified yet" in response.content.decode()
    assert not signed_in(client)


def test_the_admin_sign_in_refuses_it(client, mandatory, make_user):
    staff = make_user(username="boss", email="boss@example.com", is_staff=True)
    EmailAddress.objects.create(user=staff, email=staff.email, primary=True, verified=False)
    response = client.post("/admin/login/", {"username": "boss", "password": DEFAULT_PASSWORD})
    assert "not verified yet" in response.content.decode()
    assert BrowserSession.objects.count() == 0


# --- the account page's e-mail change ------------------------------------------------------


def test_the_account_page_has_the_email_form(signed_in_browser, user):
    html = signed_in_browser(user).get(ACCOUNT).content.decode()
    assert f'action="{CHANGE}"' in html
    assert 'name="email"' in html
    assert 'name="password"' in html
    assert "Change e-mail</button>" in html


def test_changing_the_email_on_the_page(signed_in_browser, user, client, mailoutbox):
    browser = signed_in_browser(user)
    old = user.email
    response = browser.post(CHANGE, {"email": "page@example.org", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == ACCOUNT + "#email"
    assert "page@example.org" in browser.get(ACCOUNT).content.decode()  # the message
    user.refresh_from_db()
    assert user.email == old
    to_new, to_old = mailoutbox
    assert to_old.to == [old]
    client.post(verify_url(key_of(to_new)))
    user.refresh_from_db()
    assert user.email == "page@example.org"


def test_a_wrong_password_on_the_page_is_a_form_error(signed_in_browser, user, mailoutbox):
    response = signed_in_browser(user).post(
        CHANGE, {"email": "page@example.org", "password": "wrong"}
    )
    assert response.status_code == 400
    assert "Your password was entered incorrectly." in response.content.decode()
    assert mailoutbox == []
    assert not EmailAddress.objects.exists()


def test_the_change_form_needs_csrf_and_a_signed_in_user(user):
    anonymous = Client()
    response = anonymous.post(CHANGE, {"email": "a@example.org", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert LOGIN in response["Location"]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert (
        browser.post(CHANGE, {"email": "a@example.org", "password": DEFAULT_PASSWORD}).status_code
        == 403
    )
    assert not EmailAddress.objects.exists()
    assert User.objects.get(pk=user.pk).email == user.email


def test_the_link_page_names_the_account_before_anything_is_confirmed(client):
    """Whoever signed up with another person's address must not get it confirmed unawares:
    the page names the account the address would join, and says not to confirm it."""
    user = User.objects.create_user("mallory", "victim@example.com", "a-long-passphrase-1")
    signup_email_address_add(user=user, email=user.email)
    key = EmailConfirmationHMAC(EmailAddress.objects.get(user=user)).key

    page = client.get(f"/accounts/email/verify/{key}/").content.decode()

    assert "the e-mail address of the account <strong>mallory</strong>" in page
    assert "If you did not create this account" in page
    assert not EmailAddress.objects.get(user=user).verified
