"""Two uses of one verification key at once, on PostgreSQL, through the route: both have
read the key's row as unverified before either writes (the test holds the user's row lock
until both wait on it), and exactly one gets 204."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from allauth.account.models import EmailAddress
from django.db import connection, transaction
from django.test import Client

from accounts.models import AuthEvent, User
from accounts.users.verification import email_verification_key

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

VERIFY = "/api/v1/auth/email/verify/"
WAIT = 30  # seconds: bounds every wait, never reached when the code is right


def _post(body):
    try:
        response = Client().post(VERIFY, body, content_type="application/json")
        return response.status_code
    finally:
        connection.close()


def _waiting_for_locks():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND cardinality(pg_blocking_pids(pid)) > 0"
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("change", [False, True], ids=["sign-up", "e-mail change"])
def test_one_of_two_concurrent_uses_verifies(make_user, change):
    user = make_user(username="nova", email="nova@example.com")
    address = EmailAddress.objects.create(
        user=user,
        email="new@example.com" if change else user.email,
        primary=not change,
        verified=False,
    )
    body = {"key": email_verification_key(address=address)}
    with ThreadPoolExecutor(max_workers=2) as pool:
        with transaction.atomic():
            User.objects.select_for_update().get(pk=user.pk)
            futures = [pool.submit(_post, body) for _ in range(2)]
            deadline = time.monotonic() + WAIT
            while _waiting_for_locks() < 2:
                assert time.monotonic() < deadline, "the uses never reached the write"
                assert not any(f.done() for f in futures), [f.result() for f in futures]
                time.sleep(0.01)  # poll interval, not a wait for timing
        answers = sorted(future.result(timeout=WAIT) for future in futures)
    assert answers == [204, 400]
    kind = AuthEvent.Kind.EMAIL_CHANGED if change else AuthEvent.Kind.EMAIL_VERIFIED
    assert AuthEvent.objects.filter(kind=kind).count() == 1
    assert EmailAddress.objects.get(pk=address.pk).verified
    if change:
        assert User.objects.get(pk=user.pk).email == "new@example.com"
