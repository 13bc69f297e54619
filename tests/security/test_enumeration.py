"""No user enumeration: the sign-in routes and password reset answer the same, in about the
same time, whether or not the account exists or is active."""

import functools
import re
import time

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from accounts.models import DeviceSession
from tests.timing import SAMPLES, timing_gap

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
    """What a client can compare: status, body and headers (minus per-request values: the
    date, and X-Request-ID, random for every request whatever it asked)."""
    per_request = ("date", "x-request-id")
    headers = sorted((k, v) for k, v in response.items() if k.lower() not in per_request)
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
    api_client, client, accounts, mailoutbox, settings
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "RESET_RATE": "100/hour"}
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


def _request(post, path, body):
    """(what the client sees, how many queries the request made)"""
    with CaptureQueriesContext(connection) as queries:
        response = post(path, body)
    return _visible(response), len(queries)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("queued_tasks")
def test_password_reset_does_the_same_work_for_known_and_unknown_addresses(
    api_client, client, accounts, mailoutbox, run_worker
):
    """The mail goes out after the response: the request enqueues one task with the
    address either way (same queries, byte-equal answers), and the worker sends it."""
    api_post = functools.partial(api_client.post, format="json")
    for post, path in ((api_post, RESET_API_URL), (client.post, RESET_PAGE_URL)):
        known = _request(post, path, {"email": "active@example.com"})
        unknown = _request(post, path, {"email": "nobody@example.com"})
        assert known == unknown
    assert mailoutbox == []
    stored = list(DBTaskResult.objects.values_list("args_kwargs", flat=True))
    assert len(stored) == 4
    keys = {"email", "domain", "use_https", "language"}  # the language: "en" for both
    assert all(set(args["kwargs"]) == keys for args in stored)
    assert {args["kwargs"]["language"] for args in stored} == {"en"}

    run_worker()
    assert [m.to for m in mailoutbox] == [["active@example.com"], ["active@example.com"]]
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("queued_tasks")
def test_a_reset_task_run_again_sends_a_fresh_working_link(
    api_client, user, mailoutbox, run_worker
):
    """A retried task (a worker that died after sending) only sends one more valid link."""
    api_client.post(RESET_API_URL, {"email": user.email}, format="json")
    task_row = DBTaskResult.objects.get()
    run_worker()
    DBTaskResult.objects.filter(pk=task_row.pk).update(status="READY")
    run_worker()
    assert [m.to for m in mailoutbox] == [[user.email], [user.email]]
    _uid, token = re.search(r"/accounts/reset/(\S+)/(\S+)/", mailoutbox[1].body).groups()
    assert default_token_generator.check_token(user, token)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("queued_tasks")
def test_sign_up_answers_the_same_for_new_and_registered_addresses(
    api_client, client, settings, make_user, mailoutbox, run_worker
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True}
    make_user(username="taken", email="taken@example.com")
    body = {"username": "grace", "email": "grace@example.com", "password": "a-long-passphrase-42"}
    new = api_client.post("/api/v1/auth/signup/", body, format="json")
    registered = api_client.post(
        "/api/v1/auth/signup/",
        {**body, "username": "grace2", "email": "TAKEN@example.com"},
        format="json",
    )
    assert new.status_code == 202
    assert _visible(new) == _visible(registered)
    assert mailoutbox == []
    run_worker()
    assert [m.to for m in mailoutbox] == [["grace@example.com"], ["taken@example.com"]]
    assert mailoutbox[0].subject != mailoutbox[1].subject


def test_token_route_timing_does_not_reveal_unknown_or_inactive_users(
    api_client, accounts, settings
):
    """The three failures cost the same with the real Argon2 hasher: Django's backend
    hashes for an unknown user too, and checks is_active only after the password.
    Interleaved samples compared with a rank test at a fixed false-positive rate and a
    median ratio (tests/timing.py): a busy machine does not fail it, a case that skips the
    hash (~100x faster) always does."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "LOGIN_FAILURE_LIMIT": 10_000,
        "ADDRESS_FAILURE_LIMIT": 10_000,
    }
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
    samples = {case: [] for case in sorted(accounts, key=lambda c: c != "wrong password")}
    for _ in range(SAMPLES):
        for case in samples:
            samples[case].append(timed(accounts[case]))
    assert timing_gap(samples) is None
