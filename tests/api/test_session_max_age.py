"""A lowered ACCOUNTS_SESSION_MAX_AGE ends the sessions older than it at once, although
their stored `refresh_expires_at` was capped by the old one: the contract's "active while
... younger than ACCOUNTS_SESSION_MAX_AGE" holds for refresh, the device list, the device
limit and access tokens alike."""

from datetime import timedelta

import pytest
from django.db.models import F

from accounts.models import DeviceSession

pytestmark = pytest.mark.django_db

DEVICES_URL = "/api/v1/devices/"
ME_URL = "/api/v1/me/"
MAX_AGE = 3600


@pytest.fixture
def aged_session(sign_in, settings):
    """A session signed in two hours ago under the default max age (its refresh token good
    for weeks more), then ACCOUNTS_SESSION_MAX_AGE lowered to one hour."""
    body = sign_in(device_id="old-phone").json()
    DeviceSession.objects.update(created_at=F("created_at") - timedelta(hours=2))
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SESSION_MAX_AGE": MAX_AGE}
    return body


def test_refresh_of_a_session_older_than_a_lowered_max_age_is_refused(aged_session, refresh):
    response = refresh(aged_session["refresh"], device_id="old-phone")
    assert (response.status_code, response.json()["code"]) == (401, "session_revoked")


def test_its_access_token_is_refused(aged_session, api_client, bearer):
    response = api_client.get(ME_URL, **bearer(aged_session["access"]))
    assert (response.status_code, response.json()["code"]) == (401, "session_revoked")


def test_it_leaves_the_device_list_and_the_device_limit(
    aged_session, sign_in, settings, api_client, bearer
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 1, "DEVICE_LIMIT_POLICY": "reject"}
    # The old session no longer counts toward the limit of one device: no 409.
    new = sign_in(device_id="new-phone").json()
    response = api_client.get(DEVICES_URL, **bearer(new["access"]))
    assert [device["device_id"] for device in response.json()] == ["new-phone"]
