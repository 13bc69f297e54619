"""An e-mail change mails an address the caller chooses (accounts.users.email_change), as
sign-up and password reset do: like theirs, its mails are limited, here per account
(EMAIL_CHANGE_RATE), so one signed-in account cannot make the kit mail any number of
strangers (a verification e-mail naming the account's chosen username to each), on the
API and on the account page alike; a wrong password is the lockout's, not this limit's."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

ME_EMAIL = "/api/v1/me/email/"
# accounts.users.email_change.EMAIL_CHANGE_RATE: 5 an hour (docs/email-verification.md).
LIMIT = 5


@pytest.fixture
def me(sign_in, bearer):
    client = APIClient()
    client.credentials(**bearer(sign_in().json()["access"]))
    return client


def test_the_api_mails_at_most_the_rate_then_429_throttled(me, user, mailoutbox):
    for n in range(LIMIT):
        ok = me.post(
            ME_EMAIL,
            {"email": f"stranger{n}@example.org", "password": DEFAULT_PASSWORD},
            format="json",
        )
        assert ok.status_code == 202
    sent = len(mailoutbox)

    over = me.post(
        ME_EMAIL, {"email": "one-more@example.org", "password": DEFAULT_PASSWORD}, format="json"
    )

    assert over.status_code == 429, over.content
    assert over.json()["code"] == "throttled"
    assert int(over["Retry-After"]) > 0
    assert len(mailoutbox) == sent
    assert not any("one-more@example.org" in m.to for m in mailoutbox)


def test_the_account_page_shares_the_limit(me, user, mailoutbox):
    for n in range(LIMIT):
        me.post(
            ME_EMAIL,
            {"email": f"stranger{n}@example.org", "password": DEFAULT_PASSWORD},
            format="json",
        )
    sent = len(mailoutbox)
    browser = Client()
    browser.force_login(user)

    page = browser.post(
        "/accounts/email/change/", {"email": "page@example.org", "password": DEFAULT_PASSWORD}
    )

    assert page.status_code == 429
    assert int(page["Retry-After"]) > 0
    assert len(mailoutbox) == sent


def test_wrong_passwords_do_not_spend_the_budget(me, user, mailoutbox, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 100}
    for _ in range(LIMIT + 2):
        wrong = me.post(ME_EMAIL, {"email": "x@example.org", "password": "nope"}, format="json")
        assert wrong.status_code == 400
    ok = me.post(ME_EMAIL, {"email": "x@example.org", "password": DEFAULT_PASSWORD}, format="json")
    assert ok.status_code == 202
