"""Linking by e-mail (accounts.social.linking) never hands an account to a provider address
that only LOOKS like its own: PostgreSQL's UPPER() (Django's `iexact`) folds the dotless
i (U+0131), the long s (U+017F) and other letters to ASCII ones, so `v\u0131ctim@example.com`
"equals" `victim@example.com` there (the class of Django's CVE-2019-19844). Whoever owns the
lookalike mailbox at a provider that verifies it must not be signed in to the victim's
account. Runs on both databases; it is the PostgreSQL run that catches the fold."""

import pytest
from allauth.socialaccount.models import SocialAccount

from accounts.models import DeviceSession, User

URL = "/api/v1/auth/social/stub/"

# (the victim's address, the attacker's provider-verified lookalike)
LOOKALIKES = [
    ("victim@example.com", "v\u0131ctim@example.com"),  # dotless i: UPPER -> I
    ("sam@example.com", "\u017fam@example.com"),  # long s: UPPER -> S
    ("VICTIM@example.com", "v\u0131ctim@example.com"),  # and whatever case the account has
    ("kate@example.com", "\u212aate@example.com"),  # Kelvin sign: LOWER -> k
]


@pytest.mark.parametrize(("victim_email", "lookalike"), LOOKALIKES)
def test_a_lookalike_provider_address_never_signs_in_to_the_account(
    api_client, oidc_provider, make_user, victim_email, lookalike
):
    victim = make_user(username="victim", email=victim_email)
    oidc_provider.user = {**oidc_provider.user, "sub": "attacker-1", "email": lookalike}

    response = api_client.post(
        URL, {"id_token": oidc_provider.mint(), "device_id": "phone-1"}, format="json"
    )

    assert not SocialAccount.objects.filter(user=victim).exists()
    assert not DeviceSession.objects.filter(user=victim).exists()
    if response.status_code == 200:  # a new account of the lookalike address, not the victim's
        assert User.objects.get(socialaccount__uid="attacker-1") != victim
    else:
        assert response.status_code in (401, 403), response.content


@pytest.mark.parametrize("variant", ["Victim@Example.com", "VICTIM@EXAMPLE.COM"])
def test_an_ascii_case_variant_still_links(api_client, oidc_provider, make_user, variant):
    victim = make_user(username="victim", email="victim@example.com")
    oidc_provider.user = {**oidc_provider.user, "sub": "victim-1", "email": variant}

    response = api_client.post(
        URL, {"id_token": oidc_provider.mint(), "device_id": "phone-1"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert SocialAccount.objects.get(uid="victim-1").user == victim
