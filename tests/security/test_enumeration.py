"""No user enumeration: the sign-in routes and password reset answer the same, in about the
same time, whether or not the account exists or is active."""

import re
import statistics
import time

import pytest

from accounts.models import DeviceSession

TOKEN_URL = "/api/v1/auth/token/"
LOGIN_URL = "/accounts/login/"
RESET_API_URL = "/api/v1/auth/password/reset/"
RESET_PAGE_URL = "/accounts/password_reset/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(make_user, password):
    """The three ways a sign-in fails: -> {case: credentials}."""
    make_user(username="active", email="active@example.com")
    make_user(username="inactive", email="inactive@example.com", is_active=False)
    return {
        "unknown user": {"username": "nobody", "password": password},
        "wrong password": {"username": "active", "password": "not-the-password"},
        "inactive user": {"username": "inactive", "password": password},
    }


def _visible(response):
    """What a client can compare: status, body and headers (minus per-request values)."""
    headers = sorted((k, v) for k, v in response.items() if k.lower() not in ("date",))
    return response.status_code, response.content, tuple(headers)


def test_token_route_answers_the_three_failures_identically(api_client, accounts):
    answers = {
        case: _visible(api_client.post(TOKEN_URL, credentials, format="json"))
        for case, credentials in accounts.items()
    }
    first = answers["unknown user"]
    assert first[0] == 401
    assert b'"code":"invalid_credentials"' in first[1]
    assert all(answer == first for answer in answers.values()), answers
    assert not DeviceSession.objects.exists()


def test_login_page_answers_the_three_failures_identically(client, accounts):
    def page(credentials):
        response = client.post(LOGIN_URL, credentials)
        # The form echoes the typed name and carries a fresh CSRF token: blank both.
        body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        body = body.replace(credentials["username"], "NAME")
        return response.status_code, body

    answers = {case: page(credentials) for case, credentials in accounts.items()}
    assert answers["unknown user"][0] == 200
    assert len(set(answers.values())) == 1, list(answers)


def test_password_reset_answers_the_same_for_known_unknown_and_inactive(
    api_client, client, accounts, mailoutbox
):
    addresses = ["active@example.com", "nobody@example.com", "inactive@example.com"]
    api_answers = {
        _visible(api_client.post(RESET_API_URL, {"email": email}, format="json"))
        for email in addresses
    }
    assert len(api_answers) == 1
    assert next(iter(api_answers))[0] == 202
    page_answers = {
        (r.status_code, r["Location"])
        for r in (client.post(RESET_PAGE_URL, {"email": email}) for email in addresses)
    }
    assert page_answers == {(302, "/accounts/password_reset/done/")}
    # Only the active, known address gets mail (once from each route).
    assert [m.to for m in mailoutbox] == [["active@example.com"], ["active@example.com"]]


def test_token_route_timing_does_not_reveal_unknown_or_inactive_users(
    api_client, accounts, settings
):
    """Median response times of the three failures are within 20% of each other with the
    real Argon2 hasher: Django's backend hashes for an unknown user too, and checks
    is_active only after the password.

    The machine is shared, so up to three rounds are measured and one clean round
    passes; a real leak (no hash for one case, ~100x faster) fails every round. Bounded:
    at most 3 x 3 x 9 requests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 10_000}
    from django.contrib.auth import get_user_model

    for user in get_user_model().objects.all():  # re-hash the fixtures' passwords with Argon2
        user.set_password(accounts["inactive user"]["password"])
        user.save(update_fields=["password"])

    def timed(credentials):
        start = time.perf_counter()
        response = api_client.post(TOKEN_URL, credentials, format="json")
        elapsed = time.perf_counter() - start
        assert response.status_code == 401
        return elapsed

    timed(accounts["wrong password"])  # warm-up
    rounds = []
    for _ in range(3):
        samples = {case: [] for case in accounts}
        for _ in range(9):
            for case, credentials in accounts.items():
                samples[case].append(timed(credentials))
        medians = {case: statistics.median(times) for case, times in samples.items()}
        rounds.append(medians)
        if max(medians.values()) <= 1.2 * min(medians.values()):
            return
    pytest.fail(f"median /auth/token/ times differ by more than 20%: {rounds}")
