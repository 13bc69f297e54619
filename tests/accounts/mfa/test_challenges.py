"""MfaChallenge steps: only the token's hash stored, taken once, dead after their time."""

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from accounts.errors import MfaTokenInvalid
from accounts.mfa.challenges import challenge_issue, challenge_take
from accounts.models import MfaChallenge

SIGN_IN = MfaChallenge.Kind.SIGN_IN

pytestmark = pytest.mark.django_db


def test_only_the_hash_of_the_token_is_stored(user):
    token = challenge_issue(kind=SIGN_IN, user=user, data={"device_id": "phone-1"})
    row = MfaChallenge.objects.get()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row.__dict__)


def test_a_step_is_taken_once(user):
    token = challenge_issue(kind=SIGN_IN, user=user, data={"device_id": "phone-1"})
    taken = challenge_take(kind=SIGN_IN, token=token)
    assert (taken.user, taken.data) == (user, {"device_id": "phone-1"})
    assert taken.used_at is not None
    with pytest.raises(MfaTokenInvalid):
        challenge_take(kind=SIGN_IN, token=token)


def test_a_step_dies_after_its_seconds(user, mfa_clock, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MFA_TOKEN_SECONDS": 300}
    token = challenge_issue(kind=SIGN_IN, user=user, data={})
    late = challenge_issue(kind=SIGN_IN, user=user, data={})
    mfa_clock.advance(299)
    challenge_take(kind=SIGN_IN, token=token)
    mfa_clock.advance(2)
    with pytest.raises(MfaTokenInvalid):
        challenge_take(kind=SIGN_IN, token=late)


def test_seconds_overrides_the_default(user, mfa_clock):
    token = challenge_issue(kind=SIGN_IN, user=user, data={}, seconds=10)
    mfa_clock.advance(11)
    with pytest.raises(MfaTokenInvalid):
        challenge_take(kind=SIGN_IN, token=token)


@pytest.mark.parametrize("token", ["", "unknown", None, 123])
def test_unknown_or_malformed_tokens_are_refused(user, token):
    challenge_issue(kind=SIGN_IN, user=user, data={})
    with pytest.raises(MfaTokenInvalid):
        challenge_take(kind=SIGN_IN, token=token)


def test_a_token_of_another_kind_is_refused(user):
    token = challenge_issue(kind=MfaChallenge.Kind.TOTP_SETUP, user=user, data={})
    with pytest.raises(MfaTokenInvalid):
        challenge_take(kind=SIGN_IN, token=token)
    assert challenge_take(kind=MfaChallenge.Kind.TOTP_SETUP, token=token).user == user


@pytest.mark.postgres  # SQLite's in-memory test database locks the table: "table is locked"
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_takes_one_wins(user):
    token = challenge_issue(kind=SIGN_IN, user=user, data={})

    def take():
        from django.db import connection

        try:
            return challenge_take(kind=SIGN_IN, token=token) is not None
        except MfaTokenInvalid:
            return False
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: take(), range(4)))
    assert sorted(results) == [False, False, False, True]
