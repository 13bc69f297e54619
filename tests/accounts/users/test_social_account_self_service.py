"""An account made by a social sign-in has no password (accounts.social.linking), yet
deleting it, or changing its address, asks for one (DELETE /api/v1/me/, POST
/api/v1/me/email/, the account page). The password reset gives it its first one: the
link goes to the account's own address (proven by the provider), as for any account,
so such a person can delete their account too. An account whose password was made
unusable otherwise (no provider link) still gets no reset link."""

import re

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db

RESET_URL = "/api/v1/auth/password/reset/"
CONFIRM_URL = "/api/v1/auth/password/reset/confirm/"
NEW_PASSWORD = "a-first-password-of-mine-42"


def test_a_social_only_account_sets_a_password_by_reset_then_deletes_itself(
    api_client, oidc_provider, bearer, mailoutbox
):
    first = api_client.post(
        "/api/v1/auth/social/stub/", {"id_token": oidc_provider.mint()}, format="json"
    ).json()
    user = User.objects.get()
    assert not user.has_usable_password()

    assert (
        api_client.post(RESET_URL, {"email": "ADA@example.com"}, format="json").status_code == 202
    )
    reset_mails = [m for m in mailoutbox if "/accounts/reset/" in m.body]
    assert [m.to for m in reset_mails] == [[user.email]]
    uid, token = re.search(r"/accounts/reset/([^/\s]+)/([^/\s]+)/", reset_mails[0].body).groups()
    confirmed = api_client.post(
        CONFIRM_URL, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json"
    )
    assert confirmed.status_code == 204, confirmed.content

    again = api_client.post(
        "/api/v1/auth/social/stub/", {"id_token": oidc_provider.mint()}, format="json"
    ).json()
    deleted = api_client.delete(
        "/api/v1/me/", {"password": NEW_PASSWORD}, format="json", **bearer(again["access"])
    )
    assert deleted.status_code == 204, deleted.content
    user.refresh_from_db()
    assert not user.is_active
    assert first  # the first sign-in's session ended with the new password, the second's now


def test_an_unusable_password_without_a_provider_link_gets_no_reset(
    api_client, make_user, mailoutbox
):
    user = make_user(username="locked", email="locked@example.com")
    user.set_unusable_password()
    user.save()

    assert api_client.post(RESET_URL, {"email": user.email}, format="json").status_code == 202
    assert not [m for m in mailoutbox if "/accounts/reset/" in m.body]
