"""Linking by e-mail (accounts.social.linking) needs the account's own address PROVEN,
whatever ACCOUNTS_EMAIL_VERIFICATION says about sign-in: with `none`, whoever signed up
first with someone's address (no e-mail of theirs was ever needed) must not be handed
that person's sign-ins when the person later signs in with a provider that verified it
(a pre-account hijack with no click from the victim)."""

import pytest
from allauth.socialaccount.models import SocialAccount

from accounts.models import DeviceSession, User

pytestmark = pytest.mark.django_db

SOCIAL_URL = "/api/v1/auth/social/stub/"
SIGNUP_URL = "/api/v1/auth/signup/"
TOKEN_URL = "/api/v1/auth/token/"
SQUATTER_PASSWORD = "squatter-long-pass-42"


@pytest.fixture
def mode_none(settings, oidc_provider):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EMAIL_VERIFICATION": "none"}


def test_a_sign_up_with_mode_none_is_not_handed_the_provider_sign_ins(
    api_client, oidc_provider, mode_none
):
    squat = api_client.post(
        SIGNUP_URL,
        {"username": "squatter", "email": "ada@example.com", "password": SQUATTER_PASSWORD},
        format="json",
    )
    assert squat.status_code == 202
    squatter = User.objects.get(username="squatter")

    victim = api_client.post(
        SOCIAL_URL, {"id_token": oidc_provider.mint(), "device_id": "phone-1"}, format="json"
    )

    assert victim.status_code == 403, victim.content
    assert victim.json()["code"] == "email_unverified"
    assert not SocialAccount.objects.filter(user=squatter).exists()
    assert not DeviceSession.objects.filter(user=squatter).exists()


def test_mode_none_still_lets_the_sign_up_sign_in_with_its_password(api_client, mode_none):
    api_client.post(
        SIGNUP_URL,
        {"username": "grace", "email": "grace@example.com", "password": SQUATTER_PASSWORD},
        format="json",
    )

    signed_in = api_client.post(
        TOKEN_URL, {"username": "grace", "password": SQUATTER_PASSWORD}, format="json"
    )

    assert signed_in.status_code == 200, signed_in.content
