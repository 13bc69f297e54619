"""Issue 21 across two gunicorn instances (the fixture of test_multi_instance.py): with one
place among the view-keeping processes for two workers, one worker keeps a view and the
other reads Redis, and a revocation through either is refused on both at once."""

import time

import pytest
import redis
from django.conf import settings
from django.contrib.auth.hashers import make_password

from accounts.revocation import process_view
from tests.api.test_multi_instance import call
from tests.api.test_multi_instance import instances as instances  # the fixture
from tests.factories import DEFAULT_PASSWORD

pytestmark = [
    pytest.mark.multi_instance,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

# One place among the view-keeping processes for two workers: one of them reads Redis.
INSTANCE_ENV = {"ACCOUNTS_LOCAL_VIEW_MAX_PROCESSES": "1"}
TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/me/"
WAIT = 10.0  # bound of every wait on a condition


@pytest.fixture
def account(make_user):
    """sign_in(base, device) -> the token pair of a new device of one user."""
    user = make_user()
    user.password = make_password(DEFAULT_PASSWORD, hasher="argon2")
    user.save(update_fields=["password"])

    def sign_in(base, device):
        body = {"username": user.username, "password": DEFAULT_PASSWORD, "device_id": device}
        status, pair = call(base, "POST", TOKEN, body)
        assert status == 200, pair
        return pair

    return sign_in


def _member_count():
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    try:
        return client.zcard(process_view._names()["members"])
    finally:
        client.close()


def _wait_for(condition):
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)  # poll interval of a bounded wait


def test_past_the_cap_every_revocation_is_refused_on_both_instances(instances, account):
    a, b = instances
    laptop = account(b, "laptop")
    for base in (a, b):  # both workers start their views; one takes the one place
        assert call(base, "GET", ME, token=laptop["access"])[0] == 200
    _wait_for(lambda: _member_count() == 1)

    failures = []
    for round_number in range(10):
        phone = account(a, f"phone-{round_number}")
        for base in (a, b, a, b):
            assert call(base, "GET", ME, token=phone["access"])[0] == 200
        revoker = (a, b)[round_number % 2]
        status, _ = call(
            revoker, "DELETE", f"/api/v1/devices/{phone['device']['id']}/", token=laptop["access"]
        )
        assert status == 204
        for base in (a, b):
            status, body = call(base, "GET", ME, token=phone["access"])
            if (status, body.get("code")) != (401, "session_revoked"):
                failures.append((round_number, base, status))
    assert failures == []
