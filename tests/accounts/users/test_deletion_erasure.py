"""The erasure of a deleted account (accounts.users.deletion.account_erase) leaves nothing
that names the person but the username in the audit: not the provider identities linked
to it (allauth's SocialAccount: the provider's `sub` and claims), and not their e-mail
address typed as the sign-in name of a failed sign-in (an event without a user link)."""

from io import StringIO

import pytest
from allauth.socialaccount.models import SocialAccount
from django.core.management import call_command

from accounts.models import AuthEvent, User
from accounts.users.deletion import account_delete

pytestmark = pytest.mark.django_db

DAY = 24 * 3600
TOKEN_URL = "/api/v1/auth/token/"


def _erase():
    call_command("erase_deleted_accounts", stdout=StringIO())


def test_erasure_removes_the_social_links_and_the_provider_signs_up_anew(
    api_client, oidc_provider, mfa_clock, make_user
):
    first = api_client.post(
        "/api/v1/auth/social/stub/", {"id_token": oidc_provider.mint()}, format="json"
    )
    assert first.status_code == 200, first.content
    user = User.objects.get(socialaccount__uid="stub-user-1")
    user.set_password("s3cret-enough-pass")
    user.save()
    account_delete(user=user, password="s3cret-enough-pass", code=None, request=None)
    mfa_clock.advance(7 * DAY + 60)

    _erase()

    assert not SocialAccount.objects.filter(user=user).exists()
    again = api_client.post(
        "/api/v1/auth/social/stub/", {"id_token": oidc_provider.mint()}, format="json"
    )
    assert again.status_code == 200, again.content
    assert SocialAccount.objects.get(uid="stub-user-1").user != user


@pytest.mark.parametrize("typed", ["ada@example.com", "ADA@Example.COM"])
def test_erasure_leaves_no_failed_sign_in_naming_the_address(
    api_client, make_user, password, mfa_clock, typed
):
    user = make_user(username="ada", email="ada@example.com")
    refused = api_client.post(
        TOKEN_URL,
        {"username": typed, "password": "wrong-password"},
        format="json",
        HTTP_USER_AGENT="Ada's browser",
    )
    assert refused.status_code == 401
    assert AuthEvent.objects.filter(username__iexact="ada@example.com").exists()
    account_delete(user=user, password=password, code=None, request=None)
    mfa_clock.advance(7 * DAY + 60)

    _erase()

    assert not AuthEvent.objects.filter(username__icontains="ada@").exists()
    assert not AuthEvent.objects.filter(user_agent="Ada's browser").exists()
    failed = AuthEvent.objects.get(kind=AuthEvent.Kind.LOGIN_FAILED)
    assert failed.username == "ada"
    assert failed.ip_address is None
