"""The public passkey sign-in begin route writes a challenge row per call, for anyone:
it is limited per client address (ACCOUNTS_PASSKEY_SIGN_IN_RATE), 429 `throttled` with
Retry-After past it, with no row written; another address has its own count."""

import pytest
from rest_framework.test import APIClient

from accounts.models import MfaChallenge
from tests.conftest import PASSKEY_BEGIN_URL

pytestmark = pytest.mark.django_db


def test_passkey_sign_in_begin_is_limited_per_client_address(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "PASSKEY_SIGN_IN_RATE": "3/minute"}
    client = APIClient()
    for _ in range(3):
        assert client.post(PASSKEY_BEGIN_URL).status_code == 200

    refused = client.post(PASSKEY_BEGIN_URL)

    assert (refused.status_code, refused.json()["code"]) == (429, "throttled")
    assert 0 < int(refused["Retry-After"]) <= 60
    assert MfaChallenge.objects.count() == 3  # no row for the refused call
    other = client.post(PASSKEY_BEGIN_URL, REMOTE_ADDR="198.51.100.4")
    assert other.status_code == 200
