"""E-mail goes through the task queue (TASKS_BACKEND=database, production's set-up): a
request only queues its e-mail, so it never waits on the mail server, and `manage.py
db_worker` sends it. The mail servers are threads on 127.0.0.1 (tests/smtp_servers.py):
one accepts connections and never answers, the other takes every message."""

import time

import pytest
from django_tasks_db.models import DBTaskResult

from tests.smtp_servers import SilentSMTPServer, SMTPSink

# EMAIL_TIMEOUT here: a request that talked to the silent server would take this long.
SMTP_TIMEOUT = 5
KNOWN = "ada@example.com"
NEW_ACCOUNT = {"username": "grace", "email": "grace@example.com", "password": "a-long-pass-42"}
ROUTES = {
    "password reset": ("/api/v1/auth/password/reset/", {"email": KNOWN}, KNOWN),
    "sign-up": ("/api/v1/auth/signup/", NEW_ACCOUNT, NEW_ACCOUNT["email"]),
}

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("queued_tasks")]


@pytest.fixture
def smtp_at(settings):
    """smtp_at(port, timeout=SMTP_TIMEOUT): e-mail goes by SMTP to 127.0.0.1:port."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True}

    def _point(port, timeout=SMTP_TIMEOUT):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = timeout

    return _point


@pytest.mark.parametrize("route", ROUTES)
def test_a_request_never_waits_on_the_mail_server(
    api_client, make_user, smtp_at, run_worker, route
):
    make_user(username="ada", email=KNOWN)
    path, body, recipient = ROUTES[route]
    with SilentSMTPServer() as silent:
        smtp_at(silent.port)
        start = time.perf_counter()
        response = api_client.post(path, body, format="json")
        elapsed = time.perf_counter() - start
        assert silent.connections == 0  # the request did not even connect
    assert response.status_code == 202, response.content
    assert elapsed < SMTP_TIMEOUT / 5, elapsed
    [queued] = DBTaskResult.objects.all()
    assert queued.status == "READY"

    with SMTPSink() as sink:
        smtp_at(sink.port)
        run_worker()
    [sent] = sink.messages
    assert sent.recipients == [recipient]
    assert sent.message["To"] == recipient
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_a_mail_server_that_never_answers_fails_the_task_not_the_worker(
    api_client, smtp_at, run_worker
):
    """EMAIL_TIMEOUT bounds the worker's wait too: the task fails after it (the worker goes
    on with the queue), instead of the worker hanging for ever."""
    path, body, _ = ROUTES["sign-up"]  # its task lets the error out (Django's reset form logs it)
    assert api_client.post(path, body, format="json").status_code == 202
    with SilentSMTPServer() as silent:
        smtp_at(silent.port, timeout=0.5)
        start = time.perf_counter()
        run_worker()
        elapsed = time.perf_counter() - start
        assert silent.connections == 1
    assert elapsed < SMTP_TIMEOUT
    assert DBTaskResult.objects.get().status == "FAILED"
