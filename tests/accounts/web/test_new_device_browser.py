"""The new-device notice of the HTML sign-in: a browser without a valid `device_trust`
cookie of the account that signs in (password, after the second factor, passkey) gets
the user an e-mail naming it, with a link that ends THAT browser session
(accounts.devices.browsers; the link: accounts.devices.new_device)."""

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core import mail, signing
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django_tasks_db.models import DBTaskResult

from accounts.conf import kit_settings
from accounts.devices import cookies
from accounts.devices.new_device import LINK_MAX_AGE, LINK_SALT
from accounts.models import AuthEvent, BrowserSession

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
CODE_PAGE = "/accounts/login/mfa/"
PASSKEY = "/accounts/login/passkey/"
ACCOUNT = "/accounts/"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SUBJECT = f"{kit_settings.SITE_NAME}: new sign-in from "


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """run_on_commit(call, *args, **kwargs): the call with its on-commit work (the
    e-mail task) run."""

    def _run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return _run


@pytest.fixture
def browser_sign_in(user, password, run_on_commit):
    """browser_sign_in(client=None) -> the client (a Firefox on Linux), signed in on the
    sign-in page with the password."""

    def _sign_in(client=None, username=None):
        client = client or Client(HTTP_USER_AGENT=FIREFOX)
        body = {"username": username or user.username, "password": password}
        response = run_on_commit(client.post, LOGIN, body)
        assert response.status_code == 302, response.content
        return client

    return _sign_in


def notices():
    return [m for m in mail.outbox if m.subject.startswith(SUBJECT)]


def revoke_path(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/devices/revoke/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def signed_in(client) -> bool:
    return client.get(ACCOUNT).status_code == 200


def test_a_password_sign_in_from_a_new_browser_mails_the_notice(user, browser_sign_in):
    browser = browser_sign_in()
    [message] = notices()
    assert message.to == [user.email]
    assert message.subject == SUBJECT + "Firefox on Linux"
    assert "Firefox on Linux" in message.body
    assert "127.0.0.1" in message.body
    signed_in_at = datetime.fromisoformat(browser.session["_kit_browser"]["signed_in_at"])
    assert signed_in_at.strftime("%Y-%m-%d %H:%M") in message.body  # the time, UTC
    path = revoke_path(message)
    # The link names the sign-in, never the session key (a credential).
    assert browser.session.session_key not in message.body
    assert (
        browser.session.session_key
        not in signing.b64_decode(path.split("/")[-2].split(":")[0].encode()).decode()
    )


def test_the_accounts_trust_cookie_means_no_notice(browser_sign_in, client, user, password):
    browser = browser_sign_in()
    assert cookies.TRUST_COOKIE in browser.cookies
    browser.post("/accounts/logout/")
    mail.outbox.clear()
    browser_sign_in(browser)  # the same browser: it sends its device_trust cookie
    assert notices() == []


def test_another_accounts_trust_cookie_does_not_count(browser_sign_in, make_user, password):
    other = make_user(username="other", email="other@example.com", password=password)
    browser = browser_sign_in(username=other.username)
    browser.post("/accounts/logout/")
    mail.outbox.clear()
    browser_sign_in(browser)  # its trust cookie is the other account's
    assert len(notices()) == 1


def test_a_user_without_an_address_gets_nothing_and_signs_in(browser_sign_in, user):
    user.email = ""
    user.save(update_fields=["email"])
    assert signed_in(browser_sign_in())
    assert notices() == []


def test_get_changes_nothing_post_ends_that_browser_only(user, browser_sign_in):
    stolen = browser_sign_in()
    mine = browser_sign_in(Client(HTTP_USER_AGENT="Mozilla/5.0 (Macintosh) Safari/605.1"))
    path = revoke_path(notices()[0])  # the first sign-in's (the "stolen" browser)

    page = Client().get(path)
    assert page.status_code == 200
    assert b"Firefox on Linux" in page.content
    assert b'method="post"' in page.content
    assert signed_in(stolen)

    response = Client().post(path)
    assert response.status_code == 200
    assert b"is signed out" in response.content
    assert not signed_in(stolen)  # its next request is anonymous
    assert signed_in(mine)
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.SESSION_REVOKED)
    assert (event.user_id, event.actor) == (user.pk, "new-device e-mail link")
    assert event.detail == {"reason": "user", "browser": True}


def test_following_it_twice_or_from_that_browser_is_harmless(browser_sign_in, run_on_commit):
    browser = browser_sign_in()
    path = revoke_path(notices()[0])
    first = browser.post(path)  # from the very browser it signs out
    assert first.status_code == 200
    assert b"is signed out" in first.content
    again = Client().post(path)
    assert again.status_code == 200
    assert b"already signed out" in again.content
    assert Client().get(path).status_code == 200
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.SESSION_REVOKED).count() == 1
    assert not signed_in(browser)


def test_after_seven_days_the_link_has_expired(browser_sign_in, monkeypatch):
    browser = browser_sign_in()
    path = revoke_path(notices()[0])
    later = time.time() + LINK_MAX_AGE + 1
    monkeypatch.setattr("django.core.signing.time", SimpleNamespace(time=lambda: later))
    response = Client().post(path)
    assert response.status_code == 410
    assert b"expired" in response.content
    monkeypatch.undo()
    assert signed_in(browser)


def test_a_tampered_or_forged_link_is_refused(browser_sign_in, make_user, password, user):
    browser = browser_sign_in()
    path = revoke_path(notices()[0])
    token = path.split("/")[-2]
    tampered = path.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert Client().post(tampered).status_code == 400
    # A right signature over another user's id finds nothing to end.
    browser_id = browser.session["_kit_browser"]["id"]
    other = make_user(username="other", email="other@example.com", password=password)
    forged = signing.TimestampSigner(salt=LINK_SALT).sign_object(
        {"b": browser_id, "u": str(other.pk)}
    )
    assert b"already signed out" in Client().post(f"/accounts/devices/revoke/{forged}/").content
    assert signed_in(browser)


def test_the_link_survives_a_new_session_key(browser_sign_in, user, password):
    """A password change in that browser cycles its session key: the link, which names the
    sign-in, still ends it."""
    browser = browser_sign_in()
    old_key = browser.session.session_key
    new_password = "a-new-long-passphrase-43"
    changed = browser.post(
        "/accounts/password_change/",
        {"old_password": password, "new_password1": new_password, "new_password2": new_password},
    )
    assert changed.status_code == 302
    assert browser.session.session_key != old_key
    assert signed_in(browser)
    assert b"is signed out" in Client().post(revoke_path(notices()[0])).content
    assert not signed_in(browser)


def test_a_browser_signed_out_everywhere_is_already_signed_out(
    browser_sign_in, signed_in_browser, user
):
    browser_sign_in()
    path = revoke_path(notices()[0])
    user.refresh_from_db()
    signed_in_browser(user).post("/accounts/devices/sign-out-everywhere/")
    assert b"already signed out" in Client().post(path).content


def test_after_the_second_factor_an_untrusted_browser_is_mailed(
    user, password, enrol_totp, mfa_clock, run_on_commit
):
    secret, _ = enrol_totp(user)
    browser = Client(HTTP_USER_AGENT=FIREFOX)
    browser.post(LOGIN, {"username": user.username, "password": password})
    assert notices() == []  # the password alone opens no session
    response = run_on_commit(browser.post, CODE_PAGE, {"code": mfa_clock.code(secret)})
    assert response.status_code == 302
    assert len(notices()) == 1
    # Again from the same browser (its trust cookie): no notice.
    browser.post("/accounts/logout/")
    mail.outbox.clear()
    mfa_clock.advance(30)
    browser.post(LOGIN, {"username": user.username, "password": password})
    run_on_commit(browser.post, CODE_PAGE, {"code": mfa_clock.code(secret)})
    assert signed_in(browser)
    assert notices() == []


def test_a_passkey_sign_in_from_an_untrusted_browser_is_mailed(
    user, api_client, sign_in, passkey_enrol, authenticator, run_on_commit
):
    passkey_enrol(sign_in().json()["access"], authenticator)
    mail.outbox.clear()
    begun = api_client.post("/api/v1/auth/passkey/begin/").json()
    credential = authenticator.sign_in(begun["options"])
    browser = Client(HTTP_USER_AGENT=FIREFOX)
    body = {
        "challenge_token": begun["challenge_token"],
        "credential": json.dumps(credential),
    }
    response = run_on_commit(browser.post, PASSKEY, body)
    assert response.status_code == 302
    [message] = notices()
    assert message.subject == SUBJECT + "Firefox on Linux"
    assert b"is signed out" in Client().post(revoke_path(message)).content
    assert not signed_in(browser)


@pytest.mark.django_db(transaction=True)
def test_the_queue_holds_no_secret_and_the_worker_sends_it(settings, user, password, mailoutbox):
    """Production's queue: the task waits for `manage.py db_worker` with ids, the host and
    the request's language, never the session key; the worker mails the link."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    browser = Client(HTTP_USER_AGENT=FIREFOX, HTTP_ACCEPT_LANGUAGE="fr")
    response = browser.post(LOGIN, {"username": user.username, "password": password})
    assert response.status_code == 302
    assert mailoutbox == []
    [task] = DBTaskResult.objects.all()
    kwargs = task.args_kwargs["kwargs"]
    assert set(kwargs) == {"user_id", "browser_id", "domain", "use_https", "language"}
    # The language the request was answered in (LocaleMiddleware: Accept-Language).
    language = response.headers.get("Content-Language") or settings.LANGUAGE_CODE
    assert (kwargs["user_id"], kwargs["language"]) == (user.pk, language)
    assert browser.session.session_key not in json.dumps(task.args_kwargs)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=StringIO())
    [message] = mailoutbox
    assert message.to == [user.email]
    assert b"is signed out" in Client().post(revoke_path(message)).content
    assert not signed_in(browser)


def test_a_browser_without_a_user_agent_is_named_unknown(user, browser_sign_in):
    browser_sign_in(Client())
    [message] = notices()
    assert message.subject == SUBJECT + "Unknown browser"


def _waiting_for_locks():
    """How many other sessions of the test database wait for a lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND cardinality(pg_blocking_pids(pid)) > 0"
        )
        return cursor.fetchone()[0]


def _follow(path):
    """POST the link from a browser of its own, on this thread's database connection."""
    try:
        return Client().post(path).content.decode()
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_end_the_browser_and_audit_it_once(user, password):
    """Both clicks find the browser live and wait to delete its row (the test holds the
    row's lock until PostgreSQL shows both waiting): one ends it, the other finds it gone."""
    browser = Client(HTTP_USER_AGENT=FIREFOX)
    browser.post(LOGIN, {"username": user.username, "password": password})
    path = revoke_path(notices()[0])
    key = browser.session.session_key
    with ThreadPoolExecutor(max_workers=2) as pool:
        with transaction.atomic():
            BrowserSession.objects.select_for_update().get(session_key=key)
            clicks = [pool.submit(_follow, path) for _ in range(2)]
            deadline = time.monotonic() + 30
            while _waiting_for_locks() < 2:
                assert time.monotonic() < deadline, "the clicks never reached the delete"
                assert not any(click.done() for click in clicks), [c.result() for c in clicks]
                time.sleep(0.01)  # poll interval, not a wait for timing
        pages = sorted(click.result(timeout=30) for click in clicks)
    assert ["already signed out" in page for page in pages].count(True) == 1
    assert ["is signed out" in page for page in pages].count(True) == 1
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.SESSION_REVOKED).count() == 1
    assert not signed_in(browser)
